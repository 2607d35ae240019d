"""QA (质检): scorecard versions, evaluations with their answers, comments pinned to moments of a
call, calibration rounds, appeals with their decision log, and the review queue.

An evaluation points at the exact scorecard version it was made with (``qa_scorecard_versions``
keeps each version's definition and content hash), so editing the scorecard file never changes
an old score. The automatic proposal is an evaluation of kind ``auto`` with no evaluator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime

EVALUATION_KINDS = ("live", "post_call", "auto")
APPEAL_STATUSES = ("open", "upheld", "rejected")
REVIEW_REASONS = ("random", "complaint", "low_auto", "live_alert")


class QaScorecardVersion(Base):
    __tablename__ = "qa_scorecard_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QaCalibration(Base):
    """A round of blind scoring of one call by several evaluators."""

    __tablename__ = "qa_calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QaEvaluation(Base):
    __tablename__ = "qa_evaluations"
    __table_args__ = (
        Index("ix_qa_evaluations_call_kind", "call_id", "kind"),
        Index("ix_qa_evaluations_agent_created", "agent_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    scorecard_version_id: Mapped[int] = mapped_column(ForeignKey("qa_scorecard_versions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # live | post_call | auto
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    calibration_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_calibrations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # item id → answer
    total: Mapped[float] = mapped_column(Float)
    raw_total: Mapped[float] = mapped_column(Float)
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # auto: what each check found (evidence with times) and the acoustic metrics.
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QaComment(Base):
    """A remark pinned to a moment of a call's recording (seconds from its start)."""

    __tablename__ = "qa_comments"
    __table_args__ = (Index("ix_qa_comments_call_at", "call_id", "at_seconds"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_evaluations.id", ondelete="CASCADE"), nullable=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at_seconds: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QaAppeal(Base):
    """An agent's appeal against an evaluation; ``log`` is every step, oldest first."""

    __tablename__ = "qa_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("qa_evaluations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | upheld | rejected
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The score before an upheld appeal changed it (the evaluation holds the new one).
    previous_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class QaReviewItem(Base):
    """A call the sampling rules picked for a person to review (one row per call and reason)."""

    __tablename__ = "qa_review_items"
    __table_args__ = (
        Index("ix_qa_review_items_done_created", "done", "created_at"),
        UniqueConstraint("call_id", "reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))  # random | complaint | low_auto | live_alert
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    auto_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
