from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime


class TranscriptSegment(Base):
    """One finished utterance of one leg; times in seconds from the recording's start."""

    __tablename__ = "transcript_segments"
    __table_args__ = (Index("ix_transcript_segments_call_leg_start", "call_id", "leg", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    leg: Mapped[str] = mapped_column(String(16))
    start: Mapped[float]
    end: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    # [{"word", "start", "end", "conf"}, ...]
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(8))  # live | post
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TranscriptLeg(Base):
    """Where one leg's transcript stands: live, pending, transcribing, complete, failed."""

    __tablename__ = "transcript_legs"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    leg: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
