"""Agents (坐席): who takes which calls, the state they are in now, and every stay in a state.

``agent_profiles`` holds the current state for routing (the ACD asks for the longest-idle ready
agent with a skill); ``agent_state_log`` is one row per stay in a state, closed with its
duration when the next one begins, so reports sum stored seconds instead of replaying events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime

AGENT_STATES = ("offline", "ready", "not_ready", "ringing", "on_call", "wrap_up")
AGENT_LINES = ("customer", "rider", "merchant")  # the callers a line (and a queue) serves


class AgentProfile(Base):
    __tablename__ = "agent_profiles"
    __table_args__ = (Index("ix_agent_profiles_state_idle", "state", "idle_since"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    extension: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    # What the system dials to ring this agent's desk phone or softphone.
    phone_uri: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lines: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["customer"])
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["zh"])
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1–5: queues ask for a minimum
    state: Mapped[str] = mapped_column(String(16), default="offline")
    state_reason: Mapped[str] = mapped_column(String(32), default="")
    state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    # When they last became ready: the longest idle is offered the next call.
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)  # consecutive, unanswered
    current_call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AgentStateLog(Base):
    """One stay in a state; ``ended_at`` and ``seconds`` are filled when the next begins."""

    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
