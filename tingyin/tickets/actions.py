"""Everything that changes a ticket: each function checks, writes the row and its history event
in the caller's transaction (so a refused step stores nothing), and returns what changed.

Rules come from ``rules.py`` and ``policy.py`` (pure); times from ``now=`` so tests control the
clock; SLA state from ``sla.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tingyin.screenpop.sources import OrderRecord
from tingyin.store.models import Call, Compensation, Customer, Ticket, TicketCall, TicketEvent, User
from tingyin.tickets.followups import schedule_followup
from tingyin.tickets.policy import PRIORITIES, TicketPolicy
from tingyin.tickets.rules import (
    InvalidTransition,
    TicketRef,
    approval_needed,
    check_transition,
    is_repeat,
    priority_for,
    responsibility_for,
    ticket_number,
)
from tingyin.tickets.sla import ClockEvent, EventKind, SlaClock, calendar_from
from tingyin.tickets.webhooks import enqueue

MAX_DESCRIPTION = 4000
SLA_RANK = {"met": 0, "paused": 1, "running": 2, "warning": 3, "breached": 4}
# Status changes as the SLA clock reads them.
STATUS_CLOCK: dict[str, EventKind] = {
    "in_progress": "first_response",
    "resolved": "resolved",
    "reopened": "reopened",
}
ROLE_LEVEL = {"agent": 0, "qa": 0, "supervisor": 1, "admin": 2}
APPROVER_LEVEL = {"none": 0, "supervisor": 1, "admin": 2}


class TicketError(Exception):
    """A refused request: ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    category: str
    description: str = ""
    channel: str = "phone"
    order_no: str | None = None
    customer_phone: str | None = None  # lookup key (E.164)
    customer_name: str = ""
    client_key: str | None = None
    call_id: str | None = None
    responsible_party: str | None = None  # the agent's choice over the suggestion
    heard: str = ""  # the call's transcript text, for priority keywords


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    created: bool  # False: an existing ticket (same client key, or the open one it repeats)
    repeat: bool = False


def create_ticket(
    session: Session,
    policy: TicketPolicy,
    new: NewTicket,
    *,
    actor: User | None,
    now: datetime,
    order: OrderRecord | None = None,
) -> Created:
    try:
        policy.category(new.category)
    except ValueError as exc:
        raise TicketError(422, str(exc)) from None
    if len(new.description) > MAX_DESCRIPTION:
        raise TicketError(422, f"description is longer than {MAX_DESCRIPTION} characters")
    if new.call_id and session.get(Call, new.call_id) is None:
        raise TicketError(422, f"no call {new.call_id}")
    if new.client_key:
        same = session.scalars(select(Ticket).where(Ticket.client_key == new.client_key)).first()
        if same is not None:
            if same.category != new.category or same.order_no != new.order_no:
                raise TicketError(409, "this client key was used for a different ticket")
            return Created(same, created=False)
    open_one = _repeat_of(session, policy, new, now)
    if open_one is not None:
        add_event(session, open_one, now, actor, "repeat_contact", {"channel": new.channel}, True)
        if new.call_id:
            link_call(session, open_one, new.call_id)
        open_one.updated_at = now
        return Created(open_one, created=False, repeat=True)

    vip = bool(new.customer_phone) and bool(
        session.scalar(select(Customer.vip).where(Customer.phone == new.customer_phone).limit(1))
    )
    priority, reasons = priority_for(
        policy, new.category, f"{new.description} {new.heard}", vip=vip
    )
    party, why = responsibility_for(policy, new.category, order, now=now)
    if new.responsible_party:
        if new.responsible_party not in policy.parties:
            raise TicketError(422, f"unknown responsible party {new.responsible_party!r}")
        party, why = new.responsible_party, "chosen by the agent"
    ticket = Ticket(
        number=_next_number(session, policy, now),
        client_key=new.client_key,
        channel=new.channel,
        category=new.category,
        status="accepted",
        priority=priority,
        priority_reasons=reasons,
        order_no=new.order_no,
        customer_phone=new.customer_phone,
        customer_name=new.customer_name,
        description=new.description,
        responsible_party=party,
        responsibility_reason=why,
        created_by=actor.id if actor else None,
        opened_at=now,
        updated_at=now,
        compensation_fen=0,
    )
    session.add(ticket)
    session.flush()
    add_event(
        session, ticket, now, actor, "created", {"status": "accepted", "priority": priority}, True
    )
    if new.call_id:
        link_call(session, ticket, new.call_id)
    refresh_sla(session, policy, ticket, now)
    enqueue(session, policy, ticket, "ticket.created", now=now)
    return Created(ticket, created=True)


def change_status(
    session: Session,
    policy: TicketPolicy,
    ticket: Ticket,
    target: str,
    *,
    actor: User | None,
    now: datetime,
    note: str = "",
) -> Ticket:
    try:
        check_transition(ticket.status, target)
    except InvalidTransition as exc:
        raise TicketError(409, str(exc)) from None
    before, ticket.status = ticket.status, target
    if target == "in_progress" and ticket.first_response_at is None:
        ticket.first_response_at = now
    if target == "resolved":
        ticket.resolved_at = now
    if target == "closed":
        ticket.closed_at = now
    if target == "reopened":
        ticket.resolved_at = ticket.closed_at = None
    ticket.updated_at = now
    add_event(
        session, ticket, now, actor, "status", {"from": before, "to": target, "note": note}, True
    )
    refresh_sla(session, policy, ticket, now)
    enqueue(session, policy, ticket, "ticket.status", now=now)
    if target == "resolved":
        schedule_followup(session, policy, ticket, now)
    return ticket


def add_note(
    session: Session, ticket: Ticket, text: str, *, actor: User | None, now: datetime,
    public: bool = False,
) -> None:  # fmt: skip
    if not text.strip() or len(text) > MAX_DESCRIPTION:
        raise TicketError(422, f"a note needs 1 to {MAX_DESCRIPTION} characters")
    add_event(session, ticket, now, actor, "note", {"text": text}, public)
    if public and ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.updated_at = now


def link_call(session: Session, ticket: Ticket, call_id: str) -> None:
    if session.get(TicketCall, (ticket.id, call_id)) is None:
        session.add(TicketCall(ticket_id=ticket.id, call_id=call_id))


def request_compensation(
    session: Session,
    policy: TicketPolicy,
    ticket: Ticket,
    kind: str,
    amount_fen: int,
    *,
    actor: User | None,
    now: datetime,
    note: str = "",
) -> Compensation:
    """Offer a compensation; applied at once within the actor's tier, else pending approval.
    ``actor=None`` is self-service (the IVR's automatic remedy), held to an agent's tier."""
    allows = policy.category(ticket.category).allows
    if kind not in allows:
        raise TicketError(422, f"{ticket.category} tickets offer {', '.join(allows) or 'nothing'}")
    if amount_fen <= 0 and kind != "resend":
        raise TicketError(422, "a compensation needs an amount above 0")
    total = customer_total(session, policy, ticket.customer_phone, now)
    try:
        approval = approval_needed(policy, kind, amount_fen, total)
    except ValueError as exc:
        raise TicketError(422, str(exc)) from None
    level = ROLE_LEVEL.get(actor.role, 0) if actor is not None else ROLE_LEVEL["agent"]
    may_apply = level >= APPROVER_LEVEL[approval.level]
    comp = Compensation(
        ticket_id=ticket.id,
        customer_phone=ticket.customer_phone,
        kind=kind,
        amount_fen=amount_fen,
        status="applied" if may_apply else "pending",
        approval_level=approval.level,
        requested_by=actor.id if actor is not None else None,
        decided_by=actor.id if may_apply and actor is not None else None,
        requested_at=now,
        decided_at=now if may_apply else None,
        note=note,
    )
    session.add(comp)
    session.flush()
    if may_apply:
        ticket.compensation_fen += amount_fen
    data: dict[str, Any] = {
        "id": comp.id, "kind": kind, "amount_fen": amount_fen, "status": comp.status,
        "approval": approval.level, "reason": approval.reason, "abuse": approval.abuse_flag,
    }  # fmt: skip
    add_event(session, ticket, now, actor, "compensation", data, may_apply)
    ticket.updated_at = now
    return comp


def decide_compensation(
    session: Session,
    ticket: Ticket,
    comp: Compensation,
    approve: bool,
    *,
    actor: User,
    now: datetime,
) -> Compensation:
    if comp.status != "pending":
        raise TicketError(409, f"this compensation is {comp.status}, not waiting for a decision")
    if ROLE_LEVEL.get(actor.role, 0) < APPROVER_LEVEL[comp.approval_level]:
        raise TicketError(403, f"this compensation needs a {comp.approval_level}'s approval")
    comp.status = "applied" if approve else "rejected"
    comp.decided_by, comp.decided_at = actor.id, now
    if approve:
        ticket.compensation_fen += comp.amount_fen
    data = {"id": comp.id, "kind": comp.kind, "amount_fen": comp.amount_fen, "status": comp.status}
    add_event(session, ticket, now, actor, "compensation_decided", data, approve)
    ticket.updated_at = now
    return comp


def customer_total(session: Session, policy: TicketPolicy, phone: str | None, now: datetime) -> int:
    """Compensation applied or waiting for this customer in the policy's window, in fen."""
    if not phone:
        return 0
    since = now - timedelta(days=policy.compensation.window_days)
    total = session.scalar(
        select(func.coalesce(func.sum(Compensation.amount_fen), 0)).where(
            Compensation.customer_phone == phone,
            Compensation.requested_at >= since,
            Compensation.status.in_(("applied", "pending")),
        )
    )
    return int(total or 0)


def refresh_sla(session: Session, policy: TicketPolicy, ticket: Ticket, now: datetime) -> None:
    """Recompute the ticket's SLA state and next deadline from its history."""
    if ticket.priority not in PRIORITIES:
        return
    target = policy.sla_for(ticket.category, ticket.priority)
    status = SlaClock.evaluate(
        target,
        calendar_from(policy.calendar),
        opened_at=ticket.opened_at,
        events=clock_events(session, ticket),
        now=now,
    )
    # A newly entered warning or breach is left for the SLA watch, which announces it once.
    worse = SLA_RANK[status.worst] > SLA_RANK.get(ticket.sla_state, 0)
    if not (worse and status.worst in ("warning", "breached")):
        ticket.sla_state = status.worst
    dues = [c.due_at for c in status.clocks if c.due_at is not None and c.met_at is None]
    ticket.due_at = min(dues) if dues else None


def clock_events(session: Session, ticket: Ticket) -> list[ClockEvent]:
    """The ticket's history as the SLA clock reads it."""
    events: list[ClockEvent] = []
    rows = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at)
    )
    for row in rows:
        if row.kind == "status":
            to = row.data.get("to")
            kind = STATUS_CLOCK.get(str(to))
            if kind:
                events.append(ClockEvent(row.at, kind))
        elif row.public and row.kind in ("note", "compensation", "compensation_decided"):
            events.append(ClockEvent(row.at, "update"))
    return events


# -- helpers -----------------------------------------------------------------------------------
def add_event(
    session: Session, ticket: Ticket, now: datetime, actor: User | None, kind: str,
    data: dict[str, Any], public: bool,
) -> None:  # fmt: skip
    """Append one step to the ticket's history (``public``: the customer's progress shows it)."""
    session.add(
        TicketEvent(
            ticket_id=ticket.id, at=now, actor_id=actor.id if actor else None, kind=kind,
            data=data, public=public,
        )
    )  # fmt: skip
    session.flush()


def _repeat_of(
    session: Session, policy: TicketPolicy, new: NewTicket, now: datetime
) -> Ticket | None:
    if not new.order_no and not new.customer_phone:
        return None
    since = now - timedelta(hours=policy.repeat.window_hours)
    candidates = session.scalars(
        select(Ticket).where(
            Ticket.opened_at >= since,
            Ticket.status != "closed",
            (Ticket.order_no == new.order_no) | (Ticket.customer_phone == new.customer_phone),
        )
    ).all()
    refs = [
        TicketRef(number=t.number, order_no=t.order_no or "", customer_id=t.customer_phone or "",
                  category=t.category, opened_at=t.opened_at, status=t.status)
        for t in candidates
    ]  # fmt: skip
    found = is_repeat(
        policy, new_order_no=new.order_no, new_customer_id=new.customer_phone,
        new_category=new.category, open_tickets=refs, now=now,
    )  # fmt: skip
    return next((t for t in candidates if found and t.number == found.number), None)


def _next_number(session: Session, policy: TicketPolicy, now: datetime) -> str:
    local = now.astimezone(policy.calendar.zone)
    prefix = f"{local:%y%m%d}"
    last = session.scalar(select(func.max(Ticket.number)).where(Ticket.number.like(f"{prefix}%")))
    seq = int(last[6:11]) + 1 if last else 1
    return ticket_number(local, seq)
