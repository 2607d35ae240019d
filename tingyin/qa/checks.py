"""The automatic-QA file (``config/qa_checks.toml``): phrase lists, audio thresholds and the
review queue's sampling rules — data an admin tunes, checked at load like the scorecard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tingyin.config.files import explain_with, load_toml_model

DEFAULT_CHECKS = Path(__file__).resolve().parent.parent / "config" / "qa_checks.toml"

Phrases = tuple[str, ...]


class QaChecksError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TranscriptChecks(_Strict):
    greeting_within_s: float = Field(default=20, gt=0)
    greeting: Phrases = Field(min_length=1)
    order_asked: Phrases = Field(min_length=1)
    order_confirmed: Phrases = Field(min_length=1)
    empathy: Phrases = Field(min_length=1)
    min_empathy: int = Field(default=1, ge=1)
    forbidden: Phrases = Field(min_length=1)
    promised_time_patterns: Phrases = Field(min_length=1)
    closing_within_s: float = Field(default=60, gt=0)
    closing: Phrases = Field(min_length=1)
    satisfaction_question: Phrases = Field(min_length=1)

    @field_validator("promised_time_patterns")
    @classmethod
    def _compiles(cls, patterns: Phrases) -> Phrases:
        for n, pattern in enumerate(patterns, 1):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {n} ({pattern!r}) is not a regex: {exc}") from None
        return patterns


class AudioChecks(_Strict):
    speech_dbfs: float = Field(default=-40.0, ge=-90, le=0)
    hangover_s: float = Field(default=0.3, ge=0, le=2)
    max_silence_s: float = Field(default=8.0, gt=0)
    max_silence_ratio: float = Field(default=0.35, gt=0, le=1)
    min_overlap_s: float = Field(default=0.5, gt=0)
    max_overlaps: int = Field(default=3, ge=0)
    agent_talk_ratio_min: float = Field(default=0.3, ge=0, le=1)
    agent_talk_ratio_max: float = Field(default=0.75, ge=0, le=1)
    rate_min: float = Field(default=2.0, ge=0)
    rate_max: float = Field(default=6.5, gt=0)

    @model_validator(mode="after")
    def _ranges(self) -> AudioChecks:
        if self.agent_talk_ratio_min > self.agent_talk_ratio_max:
            raise ValueError("agent_talk_ratio_min is above agent_talk_ratio_max")
        if self.rate_min > self.rate_max:
            raise ValueError("rate_min is above rate_max")
        return self


class Sampling(_Strict):
    random_share: float = Field(default=0.1, ge=0, le=1)
    complaint_categories: tuple[str, ...] = ()
    low_auto_score: float = Field(default=70.0, ge=0, le=100)
    live_alert: bool = True


class QaChecks(_Strict):
    transcript: TranscriptChecks
    audio: AudioChecks = Field(default_factory=AudioChecks)
    sampling: Sampling = Field(default_factory=Sampling)


def load_qa_checks(path: Path | None = None) -> QaChecks:
    return load_toml_model(
        path or DEFAULT_CHECKS, QaChecks, "QA checks", QaChecksError, explain_with(_where)
    )


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    return "[" + ".".join(str(p) for p in loc[:1]) + "] " + ".".join(str(p) for p in loc[1:])
