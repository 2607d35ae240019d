"""Ticket routes: create (from the desk or, idempotently, from other channels), read, move,
annotate, compensate, approve; and the customer's progress view."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.asr.queries import segments
from tingyin.bus.events import utcnow
from tingyin.phones import lookup_key
from tingyin.screenpop.sources import SourceError
from tingyin.store.models import Call, CallContext, Compensation, Ticket, TicketEvent
from tingyin.tickets.actions import (
    NewTicket,
    TicketError,
    add_note,
    change_status,
    create_ticket,
    decide_compensation,
    request_compensation,
)
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.queries import linked_calls
from tingyin.tickets.rules import (
    STATUS_LABELS,
    TICKET_STATUSES,
    TRANSITIONS,
    normalize_ticket_number,
)
from tingyin.tickets.schemas import (
    CompensationIn,
    CompensationOut,
    DecisionIn,
    EventOut,
    LinkedCallOut,
    NoteIn,
    ProgressOut,
    ProgressStep,
    StatusIn,
    TicketDetailOut,
    TicketIn,
    TicketOut,
)
from tingyin.web.context import AppContext
from tingyin.web.deps import CurrentUser, DbSession

router = APIRouter(tags=["tickets"])
Number = Annotated[str, PathParam(min_length=6, max_length=24, pattern=r"^[\d \-]+$")]


def ticket_policy(request: Request) -> TicketPolicy:
    context = cast(AppContext, request.app.state.context)
    if context.tickets is None:
        context.tickets = load_ticket_policy(context.settings.tickets.policy_file)
    return context.tickets


def _ticket(session: Session, number: str) -> Ticket:
    found = session.scalars(
        select(Ticket).where(Ticket.number == normalize_ticket_number(number))
    ).first()
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket")
    return found


def _customer_on_call(session: Session, call_id: str) -> str | None:
    """The number of a customer who rang (not a rider's or a merchant's): the one to call back."""
    call = session.get(Call, call_id)
    if call is None or call.direction != "inbound" or not call.caller_key:
        return None
    pop = session.get(CallContext, call_id)
    return call.caller_key if pop is None or pop.caller_kind in ("customer", "unknown") else None


def _refused(exc: TicketError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


@router.post("/api/tickets", status_code=201, response_model=TicketOut)
def create(
    body: TicketIn, request: Request, response: Response, session: DbSession, user: CurrentUser
) -> TicketOut:
    """A new ticket; the same ``client_key`` again, or a repeat of an open ticket (same order,
    or same customer and category, within the policy's window), answers 200 with that one."""
    policy = ticket_policy(request)
    phone = lookup_key(body.customer_phone) if body.customer_phone else None
    order = None
    if body.order_no:
        context = cast(AppContext, request.app.state.context)
        try:
            builder = context.screenpop
            order = builder.source.order(body.order_no) if builder is not None else None
        except SourceError:
            order = None  # the suggestion falls back to the category's default party
        if order is not None and phone is None:
            phone = order.customer_phone
    if phone is None and body.call_id:
        phone = _customer_on_call(session, body.call_id)
    # What the caller said counts for priority keywords (食物中毒, 过敏 …) like the description.
    heard = " ".join(seg.text for seg in segments(session, body.call_id)) if body.call_id else ""
    new = NewTicket(
        **body.model_dump(exclude={"customer_phone"}), customer_phone=phone or None, heard=heard
    )
    try:
        result = create_ticket(session, policy, new, actor=user, now=utcnow(), order=order)
    except TicketError as exc:
        raise _refused(exc) from None
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return TicketOut.model_validate(result.ticket).model_copy(update={"repeat": result.repeat})


@router.get("/api/tickets", response_model=list[TicketOut])
def list_tickets(
    request: Request,
    session: DbSession,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    party: Annotated[
        str | None, Query(max_length=24, description="responsible party: its team's queue")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TicketOut]:
    """Newest first; the SLA columns say which are about to breach."""
    query = select(Ticket).order_by(Ticket.opened_at.desc()).limit(limit)
    if status_:
        query = query.where(Ticket.status == status_)
    if category:
        query = query.where(Ticket.category == category)
    if party:
        # A typo must not read as "this queue is empty": refuse names the policy does not know.
        parties = ticket_policy(request).parties
        if party not in parties:
            known = ", ".join(parties)
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown party {party!r} (known: {known})"
            )
        query = query.where(Ticket.responsible_party == party)
    return [TicketOut.model_validate(t) for t in session.scalars(query)]


# -- what the pages need to draw tickets: labels and choices from the loaded policy -----------
# Declared before /api/tickets/{number}: Starlette matches "meta" against {number} first, and the
# number's pattern would then answer 422 rather than fall through to a later route.
class LabelMeta(BaseModel):
    code: str
    zh: str
    en: str


class CategoryMeta(LabelMeta):
    allows: list[str]  # compensation kinds an agent may offer on this category's tickets


class StatusMeta(LabelMeta):
    next: list[str]  # the statuses a ticket in this one may move to


class PartyMeta(LabelMeta):
    queue: str  # the party's work queue (e.g. the delivery team's)


class TierMeta(BaseModel):
    up_to_fen: int
    approval: str  # none | supervisor | admin


class TicketMetaOut(BaseModel):
    categories: list[CategoryMeta]
    parties: list[PartyMeta]
    statuses: list[StatusMeta]
    compensation_kinds: list[LabelMeta]
    compensation_tiers: list[TierMeta]  # above the last one an admin must approve


@router.get("/api/tickets/meta", response_model=TicketMetaOut)
def meta(request: Request) -> TicketMetaOut:
    """Categories, parties, statuses and compensation kinds with their labels, for the pages."""
    policy = ticket_policy(request)
    comp = policy.compensation
    zh, en = STATUS_LABELS["zh"], STATUS_LABELS["en"]
    return TicketMetaOut(
        categories=[
            CategoryMeta(code=c.code, zh=c.zh, en=c.en, allows=list(c.allows))
            for c in policy.categories
        ],
        parties=[
            PartyMeta(code=code, zh=p.zh, en=p.en, queue=p.queue)
            for code, p in policy.parties.items()
        ],
        statuses=[
            StatusMeta(code=s, zh=zh[s], en=en[s], next=list(TRANSITIONS[s]))
            for s in TICKET_STATUSES
        ],
        compensation_kinds=[
            LabelMeta(code=code, zh=k.zh, en=k.en) for code, k in comp.kinds.items()
        ],
        compensation_tiers=[
            TierMeta(up_to_fen=t.up_to_fen, approval=t.approval) for t in comp.tiers
        ],
    )


@router.get("/api/tickets/{number}", response_model=TicketDetailOut)
def detail(number: Number, session: DbSession) -> TicketDetailOut:
    ticket = _ticket(session, number)
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at)
    )
    comps = session.scalars(select(Compensation).where(Compensation.ticket_id == ticket.id))
    calls = [LinkedCallOut.of(c) for c in linked_calls(session, ticket.id)]
    return TicketDetailOut.model_validate(ticket).model_copy(
        update={
            "events": [EventOut.model_validate(e) for e in events],
            "compensations": [CompensationOut.model_validate(c) for c in comps],
            "calls": [c.call_id for c in calls],
            "linked_calls": calls,
        }
    )


@router.post("/api/tickets/{number}/status", response_model=TicketOut)
def move(
    number: Number, body: StatusIn, request: Request, session: DbSession, user: CurrentUser
) -> TicketOut:
    ticket = _ticket(session, number)
    try:
        change_status(session, ticket_policy(request), ticket, body.status, actor=user,
                      now=utcnow(), note=body.note)  # fmt: skip
    except TicketError as exc:
        raise _refused(exc) from None
    return TicketOut.model_validate(ticket)


@router.post("/api/tickets/{number}/notes", status_code=204)
def note(number: Number, body: NoteIn, session: DbSession, user: CurrentUser) -> None:
    ticket = _ticket(session, number)
    try:
        add_note(session, ticket, body.text, actor=user, now=utcnow(), public=body.public)
    except TicketError as exc:
        raise _refused(exc) from None


@router.post("/api/tickets/{number}/compensations", status_code=201, response_model=CompensationOut)
def compensate(
    number: Number, body: CompensationIn, request: Request, session: DbSession, user: CurrentUser
) -> CompensationOut:
    """Applied at once within the agent's tier; otherwise ``pending`` for an approval."""
    ticket = _ticket(session, number)
    try:
        policy = ticket_policy(request)
        comp = request_compensation(
            session, policy, ticket, body.kind, body.amount_fen, actor=user, now=utcnow(),
            note=body.note,
        )  # fmt: skip
    except TicketError as exc:
        raise _refused(exc) from None
    return CompensationOut.model_validate(comp)


@router.post("/api/tickets/{number}/compensations/{comp_id}/decision",
             response_model=CompensationOut)  # fmt: skip
def decide(
    number: Number, comp_id: int, body: DecisionIn, session: DbSession, user: CurrentUser
) -> CompensationOut:
    ticket = _ticket(session, number)
    comp = session.get(Compensation, comp_id)
    if comp is None or comp.ticket_id != ticket.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such compensation on this ticket")
    try:
        decide_compensation(session, ticket, comp, body.approve, actor=user, now=utcnow())
    except TicketError as exc:
        raise _refused(exc) from None
    return CompensationOut.model_validate(comp)


@router.get("/api/tickets/{number}/progress", response_model=ProgressOut)
def progress(
    number: Number,
    session: DbSession,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> ProgressOut:
    """The customer's view (for the app and the IVR): status steps only."""
    ticket = _ticket(session, number)
    labels = STATUS_LABELS.get(lang, STATUS_LABELS["zh"])
    steps = [
        ProgressStep(at=e.at, status=str(e.data.get("to", e.data.get("status", ""))),
                     label=labels.get(str(e.data.get("to", e.data.get("status", ""))), ""))
        for e in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.public.is_(True),
                   TicketEvent.kind.in_(("created", "status")))
            .order_by(TicketEvent.at)
        )
    ]  # fmt: skip
    return ProgressOut(
        number=ticket.number, category=ticket.category, status=ticket.status,
        status_label=labels.get(ticket.status, ticket.status), opened_at=ticket.opened_at,
        steps=steps, compensation_fen=ticket.compensation_fen,
    )  # fmt: skip
