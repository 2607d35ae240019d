"""Request and response bodies of the ticket API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tingyin.phones import normalise
from tingyin.store.models import Call
from tingyin.store.models.tickets import TICKET_CHANNELS
from tingyin.tickets.actions import MAX_DESCRIPTION
from tingyin.web.schemas import NO_CONTROL_CHARS

Channel = Literal[TICKET_CHANNELS]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketIn(_In):
    category: str = Field(min_length=1, max_length=40, pattern=NO_CONTROL_CHARS)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    channel: Channel = "phone"
    order_no: str | None = Field(default=None, pattern=r"^\d{6,32}$")
    customer_phone: str | None = Field(default=None, max_length=32, pattern=NO_CONTROL_CHARS)
    customer_name: str = Field(default="", max_length=64, pattern=NO_CONTROL_CHARS)
    client_key: str | None = Field(
        default=None, min_length=8, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$",
        description="Idempotency key: the same key again returns the same ticket",
    )  # fmt: skip
    call_id: str | None = Field(default=None, max_length=64, pattern=r"^[0-9a-f]{8,64}$")
    responsible_party: str | None = Field(default=None, max_length=24)


class StatusIn(_In):
    status: Literal["accepted", "in_progress", "resolved", "closed", "reopened"]
    note: str = Field(default="", max_length=MAX_DESCRIPTION)


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    public: bool = False


class CompensationIn(_In):
    kind: Literal["coupon", "partial_refund", "full_refund", "resend"]
    amount_fen: int = Field(ge=0, le=10_000_000)
    note: str = Field(default="", max_length=255)


class DecisionIn(_In):
    approve: bool


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    kind: str
    actor_id: int | None
    data: dict[str, Any]
    public: bool


class CompensationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    amount_fen: int
    status: str
    approval_level: str
    requested_at: datetime
    decided_at: datetime | None


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    channel: str
    category: str
    status: str
    priority: str
    priority_reasons: list[str]
    order_no: str | None
    customer_name: str
    description: str
    responsible_party: str
    responsibility_reason: str
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_state: str
    due_at: datetime | None
    compensation_fen: int
    repeat: bool = False


class LinkedCallOut(BaseModel):
    """A call on a ticket, as the tickets page lists it: never the caller's full number."""

    call_id: str
    started_at: datetime
    direction: str
    caller: str  # masked (138****5678); "" when the caller withheld the number
    duration_s: float | None  # ringing to hang-up; None while the call lasts
    has_recording: bool  # the recording endpoint may still answer 404 if the file is gone

    @classmethod
    def of(cls, call: Call) -> LinkedCallOut:
        number = normalise(call.caller_number)
        ended = call.ended_at
        return cls(
            call_id=call.id,
            started_at=call.started_at,
            direction=call.direction,
            caller="" if number.kind == "withheld" else number.masked,
            duration_s=(ended - call.started_at).total_seconds() if ended else None,
            has_recording=bool(call.recording_path),
        )


class TicketDetailOut(TicketOut):
    events: list[EventOut] = []
    compensations: list[CompensationOut] = []
    calls: list[str] = []  # the linked calls' ids, as before; linked_calls has their summaries
    linked_calls: list[LinkedCallOut] = []


class ProgressStep(BaseModel):
    at: datetime
    status: str
    label: str


class ProgressOut(BaseModel):
    """What the customer (the app, the IVR) may see: no notes, no staff, no internals."""

    number: str
    category: str
    status: str
    status_label: str
    opened_at: datetime
    steps: list[ProgressStep]
    compensation_fen: int
