"""Recomputing one pre-aggregate bucket from the raw rows: a half hour of calls, a ticket's
flattened facts, a local day's terms. Each replaces its rows whole, so running it again, or
late, gives the same rows (``rollup`` decides which buckets to recompute and when)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from tingyin.reports.figures import CallTotals, call_fact
from tingyin.reports.keywords import call_terms
from tingyin.store.models import (
    AgentStateLog,
    Call,
    CallContext,
    CallEventRow,
    Order,
    ReportHalfHour,
    ReportTermDay,
    ReportTicket,
    Store,
    Ticket,
    TicketCall,
    TicketEvent,
    TranscriptSegment,
)
from tingyin.tickets.actions import clock_events
from tingyin.tickets.policy import PRIORITIES, TicketPolicy
from tingyin.tickets.sla import SlaClock, calendar_from

HALF_HOUR = timedelta(minutes=30)
CALL_KINDS = ("ivr", "ivr_end", "queued", "queue_left", "agent_leg", "callback")
CALLER_LEG = "caller"


def bucket_of(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=30 if at.minute >= 30 else 0, second=0, microsecond=0)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _in_calls(query: Select[tuple[str]], start: datetime, end: datetime) -> Select[tuple[str]]:
    return query.where(Call.started_at >= start, Call.started_at < end)


def recompute_half_hour(
    session: Session, start: datetime, fcr_window: timedelta, now: datetime, tz: ZoneInfo
) -> CallTotals:
    """Replace the rows of the half hour starting at ``start``; returns its total."""
    end = start + HALF_HOUR
    calls = session.execute(
        select(Call.id, Call.started_at, Call.ended_at)
        .where(Call.started_at >= start, Call.started_at < end)
        .order_by(Call.id)
    ).all()
    session.execute(delete(ReportHalfHour).where(ReportHalfHour.bucket_start == start))
    if not calls:
        return CallTotals()
    ids = _in_calls(select(Call.id), start, end).scalar_subquery()
    events = session.execute(
        select(CallEventRow.call_id, CallEventRow.at, CallEventRow.kind, CallEventRow.data)
        .where(CallEventRow.call_id.in_(ids), CallEventRow.kind.in_(CALL_KINDS))
        .order_by(CallEventRow.call_id, CallEventRow.at, CallEventRow.id)
    ).all()
    by_call = {k: [(r.at, r.kind, r.data) for r in g] for k, g in groupby(events, lambda r: r[0])}
    wraps = dict(
        session.execute(
            select(AgentStateLog.call_id, func.sum(AgentStateLog.seconds))
            .where(AgentStateLog.call_id.in_(ids), AgentStateLog.state == "wrap_up")
            .group_by(AgentStateLog.call_id)
        ).all()
    )
    orders = dict(
        session.execute(
            select(CallContext.call_id, CallContext.order_no).where(
                CallContext.call_id.in_(ids), CallContext.order_no.is_not(None)
            )
        ).all()
    )
    facts = {}
    for call_id, _started, ended_at in calls:
        facts[call_id] = call_fact(
            by_call.get(call_id, []), ended_at=ended_at, wrap_seconds=float(wraps.get(call_id) or 0)
        )
    repeats = repeat_calls(session, calls, orders, fcr_window, end)
    per_queue: dict[str, CallTotals] = defaultdict(CallTotals)
    for call_id, fact in facts.items():
        if fact.totals.handled and orders.get(call_id):
            fact.totals.fcr_eligible = 1
            fact.totals.fcr_repeat = int(call_id in repeats)
        per_queue[fact.queue].add(fact.totals)
    for queue, t in per_queue.items():
        session.add(
            ReportHalfHour(
                bucket_start=start,
                queue=queue,
                local_day=start.astimezone(tz).date(),
                refreshed_at=now,
                **vars(t),
            )
        )
    session.flush()
    return CallTotals.sum(per_queue.values())


def repeat_calls(
    session: Session,
    calls: Sequence[tuple[str, datetime, datetime | None]],
    orders: dict[str, str | None],
    window: timedelta,
    end: datetime,
) -> set[str]:
    """Calls followed within ``window`` by another call, or a ticket not raised on them, on
    the same order."""
    wanted = {o for o in orders.values() if o}
    if not wanted:
        return set()
    start = min(c[1] for c in calls)
    later_calls = session.execute(
        select(CallContext.order_no, Call.id, Call.started_at)
        .join(Call, Call.id == CallContext.call_id)
        .where(
            CallContext.order_no.in_(sorted(wanted)),
            Call.started_at >= start,
            Call.started_at < end + window,
        )
    ).all()
    tickets = session.execute(
        select(Ticket.order_no, Ticket.id, Ticket.opened_at).where(
            Ticket.order_no.in_(sorted(wanted)),
            Ticket.opened_at >= start,
            Ticket.opened_at < end + window,
        )
    ).all()
    linked = set(
        session.execute(
            select(TicketCall.call_id, TicketCall.ticket_id).where(
                TicketCall.call_id.in_([c[0] for c in calls])
            )
        ).all()
    )
    by_order_calls: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for o, cid, at in later_calls:
        by_order_calls[o or ""].append((cid, at))
    by_order_tickets: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for o, tid, at in tickets:
        by_order_tickets[o or ""].append((tid, at))
    out = set()
    for call_id, started, ended in calls:
        order = orders.get(call_id)
        if not order:
            continue
        until = started + window
        if any(cid != call_id and started < at <= until for cid, at in by_order_calls[order]):
            out.add(call_id)
            continue
        after = ended or started
        if any(
            (call_id, tid) not in linked and after < at <= until
            for tid, at in by_order_tickets[order]
        ):
            out.add(call_id)
    return out


def recompute_ticket(
    session: Session, policy: TicketPolicy, ticket_id: int, now: datetime, tz: ZoneInfo
) -> ReportTicket | None:
    ticket = session.get(Ticket, ticket_id)
    fact = session.get(ReportTicket, ticket_id)
    if ticket is None:
        if fact is not None:
            session.delete(fact)
        return None
    new = fact is None
    if fact is None:  # added once filled in: the queries below would autoflush it half-made
        fact = ReportTicket(ticket_id=ticket_id)
    order = None
    if ticket.order_no:
        order = session.execute(
            select(Order.channel, Order.store_id, Store.merchant_id, Order.rider_id)
            .join(Store, Store.id == Order.store_id)
            .where(Order.order_no == ticket.order_no)
        ).first()
    fact.opened_at = ticket.opened_at
    local = ticket.opened_at.astimezone(tz)
    fact.local_day, fact.local_hour, fact.weekday = local.date(), local.hour, local.weekday()
    fact.category = ticket.category
    fact.channel = ticket.channel
    fact.priority = ticket.priority
    fact.status = ticket.status
    fact.responsible_party = ticket.responsible_party
    fact.order_channel, fact.store_id, fact.merchant_id, fact.rider_id = (
        order if order is not None else (None, None, None, None)
    )
    fact.is_repeat = ticket.repeat_of is not None
    fact.repeat_contacts = int(
        session.scalar(
            select(func.count()).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "repeat_contact"
            )
        )
        or 0
    )
    fact.resolved_at = ticket.resolved_at
    fact.refreshed_at = now
    fact.first_response_state = fact.resolution_state = "n/a"
    fact.first_response_due = fact.resolution_due = None
    try:
        known = ticket.priority in PRIORITIES and policy.category(ticket.category) is not None
    except ValueError:
        known = False
    if known:
        status = SlaClock.evaluate(
            policy.sla_for(ticket.category, ticket.priority),  # type: ignore[arg-type]
            calendar_from(policy.calendar),
            opened_at=ticket.opened_at,
            events=clock_events(session, ticket),
            now=max(now, ticket.opened_at),
        )
        fact.first_response_state = status.first_response.state
        fact.first_response_due = status.first_response.due_at
        fact.resolution_state = status.resolution.state
        fact.resolution_due = status.resolution.due_at
    if new:
        session.add(fact)
    session.flush()
    return fact


def recompute_term_day(session: Session, day: date, tz: ZoneInfo) -> int:
    """Replace the terms of one local day; returns how many calls had a transcript."""
    start, end = day_bounds(day, tz)
    session.execute(delete(ReportTermDay).where(ReportTermDay.day == day))
    ids = _in_calls(select(Call.id), start, end).scalar_subquery()
    rows = session.execute(
        select(TranscriptSegment.call_id, TranscriptSegment.text)
        .where(TranscriptSegment.call_id.in_(ids), TranscriptSegment.leg == CALLER_LEG)
        .order_by(TranscriptSegment.call_id, TranscriptSegment.start)
    ).all()
    categories = call_categories(session, ids)
    docs: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for call_id, group in groupby(rows, key=lambda r: r[0]):
        category = categories.get(call_id, "")
        docs[category] += 1
        counts[category].update(call_terms(r[1] for r in group))
    for category, n in docs.items():
        session.add(ReportTermDay(day=day, category=category, term="", calls=n))
        for term, c in counts[category].items():
            session.add(ReportTermDay(day=day, category=category, term=term[:32], calls=c))
    session.flush()
    return sum(docs.values())


def call_categories(session: Session, ids: object) -> dict[str, str]:
    """The category of the (first) ticket raised on each call."""
    rows = session.execute(
        select(TicketCall.call_id, Ticket.category)
        .join(Ticket, Ticket.id == TicketCall.ticket_id)
        .where(TicketCall.call_id.in_(ids))  # type: ignore[arg-type]
        .order_by(TicketCall.call_id, Ticket.id)
    ).all()
    out: dict[str, str] = {}
    for call_id, category in rows:
        out.setdefault(call_id, category)
    return out
