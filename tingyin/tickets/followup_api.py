"""Follow-up surveys of a ticket: read them, or have the customer called again now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from tingyin.bus.events import utcnow
from tingyin.store.models import FollowUp, Ticket, User
from tingyin.tickets.api import ticket_policy
from tingyin.tickets.followups import schedule_followup
from tingyin.tickets.rules import normalize_ticket_number
from tingyin.web.deps import DbSession, require_roles

router = APIRouter(tags=["tickets"])
Number = Annotated[str, PathParam(min_length=6, max_length=24, pattern=r"^[\d \-]+$")]
Supervisor = Annotated[User, Depends(require_roles("supervisor", "admin"))]


class FollowUpOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    status: str  # scheduled | calling | answered | unanswered | cancelled
    due_at: datetime
    attempts: int
    score: int | None
    outcome: str
    call_id: str | None
    created_at: datetime
    answered_at: datetime | None


def _ticket_id(session: DbSession, number: str) -> Ticket:
    ticket = session.scalars(
        select(Ticket).where(Ticket.number == normalize_ticket_number(number))
    ).first()
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket")
    return ticket


@router.get("/api/tickets/{number}/followups", response_model=list[FollowUpOut])
def followups(number: Number, session: DbSession) -> list[FollowUpOut]:
    ticket = _ticket_id(session, number)
    rows = session.scalars(
        select(FollowUp).where(FollowUp.ticket_id == ticket.id).order_by(FollowUp.created_at)
    )
    return [FollowUpOut.model_validate(row) for row in rows]


@router.post(
    "/api/tickets/{number}/followups",
    response_model=FollowUpOut,
    status_code=status.HTTP_201_CREATED,
)
def call_again(number: Number, request: Request, session: DbSession, _: Supervisor) -> FollowUpOut:
    """A supervisor asks for the survey call again (it still waits for the calling hours)."""
    ticket = _ticket_id(session, number)
    if ticket.status != "resolved":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"only resolved tickets are surveyed, not {ticket.status}"
        )
    now = utcnow()
    followup = schedule_followup(session, ticket_policy(request), ticket, now, due=now)
    if followup is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "follow-ups are off, or the ticket has no number to call"
        )
    session.flush()
    return FollowUpOut.model_validate(followup)
