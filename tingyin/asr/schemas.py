from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class WordOut(BaseModel):
    word: str
    start: float  # seconds from the start of the recording
    end: float
    conf: float


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    leg: str  # the speaker: caller | agent | system (our prompts, before an agent)
    start: float
    end: float
    text: str
    words: list[WordOut]
    source: str  # live | post


class LegStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    leg: str
    status: str  # live | pending | transcribing | complete | failed
    source: str
    reason: str
    updated_at: datetime


class TranscriptOut(BaseModel):
    call_id: str
    legs: list[LegStatusOut]
    segments: list[SegmentOut]
