"""Tickets (工单): the complaint, its calls, every step taken, and what it cost.

The ticket row holds the current state for lists and SLA queries; ``ticket_events`` is the
append-only history (who did what, when) that the state is the sum of. Money is in fen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime

TICKET_CHANNELS = ("phone", "app", "chat", "merchant", "miniprogram")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due", "status", "due_at"),
        Index("ix_tickets_customer_opened", "customer_phone", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # digits, speakable, checked
    # Idempotency for other channels: the same key twice gives the same ticket.
    client_key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    order_no: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    customer_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # lookup key
    customer_name: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    responsible_party: Mapped[str] = mapped_column(String(24))
    responsibility_reason: Mapped[str] = mapped_column(String(255), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The open ticket this one repeats (same order, or customer + category, within the window).
    repeat_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_state: Mapped[str] = mapped_column(String(12), default="running")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    compensation_fen: Mapped[int] = mapped_column(Integer, default=0)  # applied so far


class TicketCall(Base):
    __tablename__ = "ticket_calls"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TicketEvent(Base):
    """One step in a ticket's life; ``public`` ones make up the customer's progress view."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=False)


class Compensation(Base):
    """A coupon, refund or resend offered on a ticket; large ones wait for an approval."""

    __tablename__ = "compensations"
    __table_args__ = (Index("ix_compensations_customer_at", "customer_phone", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    customer_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # coupon | partial_refund | full_refund | resend
    amount_fen: Mapped[int] = mapped_column(Integer)
    # applied | pending | rejected
    status: Mapped[str] = mapped_column(String(12))
    approval_level: Mapped[str] = mapped_column(String(12), default="none")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(String(255), default="")


class WebhookDelivery(Base):
    """An HTTP POST owed to a responsible party's system (an outbox: retried until delivered)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(24))
    url: Mapped[str] = mapped_column(String(512))
    event: Mapped[str] = mapped_column(String(32))  # ticket.created | ticket.status | …
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class FollowUp(Base):
    """The satisfaction survey call owed after a ticket is resolved (回访), and its answer.

    One row per resolution: a ticket resolved again after a reopen gets a new one. ``status``:
    scheduled → calling → answered | unanswered (attempts used up) | cancelled (the ticket moved
    on before the call); a scheduled row keeps ``due_at`` for its next attempt.
    """

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the last attempt
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1–5
    outcome: Mapped[str] = mapped_column(String(64), default="")  # why the last attempt ended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
