"""Follow-up surveys in the store: owed when a ticket is resolved, claimed when due, answered.

Pure database work on a session; the call itself is ``tickets.survey``. A follow-up is created
by the resolution (``schedule_followup``, called from ``actions.change_status``), so a hub that
was down at the time still owes the call when it comes back, and a ticket resolved again after a
reopen is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tingyin.phones import normalise
from tingyin.store.models import FollowUp, Ticket
from tingyin.tickets.policy import TicketPolicy

SCHEDULED, CALLING, ANSWERED, UNANSWERED, CANCELLED = (
    "scheduled",
    "calling",
    "answered",
    "unanswered",
    "cancelled",
)


def next_calling_time(policy: TicketPolicy, at: datetime) -> datetime:
    """The first moment at or after ``at`` inside the follow-up calling hours (UTC)."""
    zone = policy.calendar.zone
    local = at.astimezone(zone)
    for day_offset in range(2):
        day = (local + timedelta(days=day_offset)).date()
        for start, end in policy.followup.hours():
            opens = datetime.combine(day, start, zone)
            closes = datetime.combine(day + timedelta(days=1) if end.hour == end.minute == 0
                                      else day, end, zone)  # fmt: skip
            if local < closes:
                return max(local, opens).astimezone(UTC)
    raise AssertionError("calling hours are validated to be open every day")


def schedule_followup(
    session: Session, policy: TicketPolicy, ticket: Ticket, now: datetime,
    due: datetime | None = None,
) -> FollowUp | None:  # fmt: skip
    """Owe a survey call for this resolution (none without a number a phone can dial); it is
    due ``delay_hours`` after ``now`` unless ``due`` says when, and always in calling hours."""
    if not policy.followup.enabled or not ticket.customer_phone:
        return None
    if not normalise(ticket.customer_phone).usable:
        return None
    session.execute(
        update(FollowUp)
        .where(FollowUp.ticket_id == ticket.id, FollowUp.status == SCHEDULED)
        .values(status=CANCELLED, outcome="superseded")
    )
    wanted = due or now + timedelta(hours=policy.followup.delay_hours)
    followup = FollowUp(
        ticket_id=ticket.id,
        status=SCHEDULED,
        due_at=next_calling_time(policy, wanted),
        created_at=now,
    )
    session.add(followup)
    return followup


@dataclass(frozen=True)
class DueCall:
    followup_id: int
    ticket_number: str
    number: str  # national form, as the trunk dials it
    attempt: int


def claim_due(session: Session, now: datetime, limit: int) -> list[DueCall]:
    """Mark up to ``limit`` due follow-ups as being called; those whose ticket moved on (reopened,
    closed by hand) are cancelled instead."""
    rows = session.execute(
        select(FollowUp, Ticket)
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .where(FollowUp.status == SCHEDULED, FollowUp.due_at <= now)
        .order_by(FollowUp.due_at)
        .limit(limit)
    ).all()
    due: list[DueCall] = []
    for followup, ticket in rows:
        phone = normalise(ticket.customer_phone or "")
        if ticket.status != "resolved" or not phone.usable:
            followup.status, followup.outcome = CANCELLED, f"ticket {ticket.status}"
            continue
        followup.status = CALLING
        followup.attempts += 1
        due.append(DueCall(followup.id, ticket.number, phone.national, followup.attempts))
    return due


def release_stale_calls(session: Session) -> int:
    """After a restart nothing is calling: put interrupted attempts back in line."""
    result = session.execute(
        update(FollowUp).where(FollowUp.status == CALLING).values(status=SCHEDULED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def attempt_failed(
    session: Session, policy: TicketPolicy, followup_id: int, outcome: str, now: datetime,
    call_id: str | None = None,
) -> FollowUp | None:  # fmt: skip
    """No answer, busy, or no key pressed: try again later, or give up after the last attempt."""
    followup = session.get(FollowUp, followup_id)
    if followup is None:
        return None
    followup.outcome = outcome[:64]
    followup.call_id = call_id or followup.call_id
    if followup.attempts >= policy.followup.max_attempts:
        followup.status = UNANSWERED
    else:
        followup.status = SCHEDULED
        retry = now + timedelta(minutes=policy.followup.retry_minutes)
        followup.due_at = next_calling_time(policy, retry)
    return followup
