from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime


class Call(Base):
    """The call detail record (CDR): one row per customer call."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_caller_key_started", "caller_key", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sip_call_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(16))
    caller_number: Mapped[str] = mapped_column(String(64))
    # The caller's number normalised (tingyin.phones): finds repeat callers in any spelling.
    caller_key: Mapped[str] = mapped_column(String(32), default="", server_default="")
    dialed_number: Mapped[str] = mapped_column(String(64))
    worker: Mapped[int] = mapped_column(Integer)
    # ringing → answered → ended | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    legs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sip_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    codec: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recording_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    recording_seconds: Mapped[float | None] = mapped_column(nullable=True)


class CallEventRow(Base):
    """What happened during a call, in order (DTMF digits now; the IVR path later)."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CallContext(Base):
    """The screen pop a call got (its latest revision), kept for reloads, tickets and QA."""

    __tablename__ = "call_contexts"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    caller_kind: Mapped[str] = mapped_column(String(16))
    order_no: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    reason: Mapped[str] = mapped_column(String(32), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the CallerContextReady event
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
