"""Report reads: the dashboard, complaint analytics, keywords and the staffing forecast.

Every figure of a period reads the pre-aggregates (``report_half_hours``, ``report_tickets``,
``report_term_days``), so a year costs a few thousand rows; drill-downs read the raw rows
behind one number, with a limit. Windows are [since, until) in UTC; half hours start on the
half hour (a window is widened to whole half hours). Plain SQL with portable functions only
(SUM, COUNT, GROUP BY): the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from tingyin.reports import erlang
from tingyin.reports.figures import (
    CallTotals,
    Compliance,
    Recurrence,
    Satisfaction,
    recurrence,
    satisfaction,
)
from tingyin.reports.forecast import SLOTS, forecast
from tingyin.reports.keywords import RankedTerm, RisingTerm, rank, rising
from tingyin.reports.recompute import bucket_of
from tingyin.store.models import (
    Call,
    FollowUp,
    ReportHalfHour,
    ReportTermDay,
    ReportTicket,
    Ticket,
    TranscriptSegment,
)

_SUMS = [f.name for f in fields(CallTotals)]
OPEN_STATUSES = ("accepted", "in_progress", "reopened")


def _window(
    query: ColumnElement[bool] | None, since: datetime, until: datetime
) -> list[ColumnElement[bool]]:
    conds = [ReportHalfHour.bucket_start >= bucket_of(since), ReportHalfHour.bucket_start < until]
    return conds + ([query] if query is not None else [])


def _totals(row: Sequence[object]) -> CallTotals:
    t = CallTotals()
    for name, value in zip(_SUMS, row, strict=True):
        setattr(t, name, type(getattr(t, name))(value or 0))
    return t


def call_totals(
    session: Session, since: datetime, until: datetime, queue: str | None = None
) -> CallTotals:
    cols = [func.sum(getattr(ReportHalfHour, n)) for n in _SUMS]
    where = _window(ReportHalfHour.queue == queue if queue is not None else None, since, until)
    row = session.execute(select(*cols).where(*where)).one()
    return _totals(row)


def by_queue(session: Session, since: datetime, until: datetime) -> dict[str, CallTotals]:
    cols = [func.sum(getattr(ReportHalfHour, n)) for n in _SUMS]
    rows = session.execute(
        select(ReportHalfHour.queue, *cols)
        .where(*_window(None, since, until))
        .group_by(ReportHalfHour.queue)
        .order_by(ReportHalfHour.queue)
    ).all()
    return {r[0]: _totals(r[1:]) for r in rows}


def half_hours(
    session: Session, since: datetime, until: datetime
) -> list[tuple[datetime, CallTotals]]:
    """Per half hour (all queues summed), in time order; half hours without calls are absent."""
    cols = [func.sum(getattr(ReportHalfHour, n)) for n in _SUMS]
    rows = session.execute(
        select(ReportHalfHour.bucket_start, *cols)
        .where(*_window(None, since, until))
        .group_by(ReportHalfHour.bucket_start)
        .order_by(ReportHalfHour.bucket_start)
    ).all()
    return [(r[0], _totals(r[1:])) for r in rows]


def by_day(session: Session, since: datetime, until: datetime) -> list[tuple[date, CallTotals]]:
    """Per local day (the ``local_day`` the refresher stored with the site's zone)."""
    cols = [func.sum(getattr(ReportHalfHour, n)) for n in _SUMS]
    rows = session.execute(
        select(ReportHalfHour.local_day, *cols)
        .where(*_window(None, since, until))
        .group_by(ReportHalfHour.local_day)
        .order_by(ReportHalfHour.local_day)
    ).all()
    return [(r[0], _totals(r[1:])) for r in rows]


# -- tickets, surveys -------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketFigures:
    opened: int
    resolved: int
    first_response: Compliance
    resolution: Compliance
    satisfaction: Satisfaction
    recurrence: Recurrence


def ticket_figures(
    session: Session,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    tz: ZoneInfo,
    recurrence_alert: float = 0.05,
    satisfied_min: int = 4,
) -> TicketFigures:
    """Tickets opened on the local days the window touches (the facts are kept per local day,
    so a year reads a covering index, not the table); resolutions and surveys in the window."""
    # One pass over the window's facts: counts, repeats and both SLA clocks' outcomes.
    fr_all, fr_met, fr_missed = _clock_sums(
        ReportTicket.first_response_state, ReportTicket.first_response_due, now
    )
    res_all, res_met, res_missed = _clock_sums(
        ReportTicket.resolution_state, ReportTicket.resolution_due, now
    )
    row = session.execute(
        select(
            func.count(),
            func.sum(case((ReportTicket.is_repeat, 1), else_=0)),
            func.sum(ReportTicket.repeat_contacts),
            fr_all, fr_met, fr_missed, res_all, res_met, res_missed,
        ).where(_days(since, until, tz))
    ).one()  # fmt: skip
    opened, repeats_of, contacts, *clocks = (int(v or 0) for v in row)
    fr = Compliance(clocks[1], clocks[2], clocks[0] - clocks[1] - clocks[2])
    res = Compliance(clocks[4], clocks[5], clocks[3] - clocks[4] - clocks[5])
    resolved = session.scalar(
        select(func.count()).where(
            ReportTicket.resolved_at >= since, ReportTicket.resolved_at < until
        )
    )
    scores = session.scalars(
        select(FollowUp.score).where(
            FollowUp.answered_at >= since, FollowUp.answered_at < until, FollowUp.score.is_not(None)
        )
    ).all()
    repeats = int(repeats_of or 0) + int(contacts or 0)
    return TicketFigures(
        opened=int(opened or 0),
        resolved=int(resolved or 0),
        first_response=fr,
        resolution=res,
        satisfaction=satisfaction([s for s in scores if s is not None], satisfied_min),
        recurrence=recurrence(int(opened or 0) + int(contacts or 0), repeats, recurrence_alert),
    )


def _clock_sums(state: Any, due: Any, now: datetime) -> tuple[Any, Any, Any]:
    """SUMs counting one SLA clock's decided, met and missed tickets (as
    ``figures.clock_outcome`` decides them), for a single pass over the facts."""
    decided = func.sum(case((state != "n/a", 1), else_=0))
    met = func.sum(case((state == "met", 1), else_=0))
    overdue = and_(due.is_not(None), due <= now, state.not_in(("met", "paused", "n/a")))
    missed = func.sum(case((state == "breached", 1), (overdue, 1), else_=0))
    return decided, met, missed


def _days(since: datetime, until: datetime, tz: ZoneInfo) -> ColumnElement[bool]:
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    return ReportTicket.local_day.between(first, last)


def backlog(session: Session) -> dict[str, dict[str, int]]:
    """Open tickets now, by status then priority (the live table, not the pre-aggregate)."""
    rows = session.execute(
        select(Ticket.status, Ticket.priority, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.status, Ticket.priority)
    ).all()
    out: dict[str, dict[str, int]] = {s: {} for s in OPEN_STATUSES}
    for status, priority, n in rows:
        out[status][priority] = n
    return out


# -- keywords ----------------------------------------------------------------------------------
def term_counts(
    session: Session, first: date, last: date, category: str | None = None
) -> tuple[Counter[str], int]:
    """Calls per term over local days [first, last], and the calls with a transcript."""
    where = [ReportTermDay.day >= first, ReportTermDay.day <= last]
    if category is not None:
        where.append(ReportTermDay.category == category)
    rows = session.execute(
        select(ReportTermDay.term, func.sum(ReportTermDay.calls))
        .where(*where)
        .group_by(ReportTermDay.term)
    ).all()
    counts = Counter({t: int(n) for t, n in rows if t})
    docs = next((int(n) for t, n in rows if t == ""), 0)
    return counts, docs


def top_terms(
    session: Session, first: date, last: date, category: str | None = None, limit: int = 50
) -> list[RankedTerm]:
    counts, docs = term_counts(session, first, last, category)
    return rank(counts, docs, limit)


def rising_terms(
    session: Session, week_end: date, category: str | None = None, *, min_calls: int = 3
) -> list[RisingTerm]:
    """The 7 days ending on ``week_end`` against the 7 days before."""
    cur, cur_docs = term_counts(session, week_end - timedelta(days=6), week_end, category)
    prev, prev_docs = term_counts(
        session, week_end - timedelta(days=13), week_end - timedelta(days=7), category
    )
    return rising(cur, prev, cur_docs, prev_docs, min_calls=min_calls)


def calls_with_term(
    session: Session, term: str, since: datetime, until: datetime, limit: int = 50
) -> list[tuple[str, datetime, str]]:
    """Calls in the window whose caller side said ``term``: (call id, started, the utterance)."""
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(Call.id, Call.started_at, TranscriptSegment.text)
        .join(TranscriptSegment, TranscriptSegment.call_id == Call.id)
        .where(
            Call.started_at >= since,
            Call.started_at < until,
            TranscriptSegment.leg == "caller",
            TranscriptSegment.text.like(pattern, escape="\\"),
        )
        .order_by(Call.started_at.desc())
        .limit(limit * 3)
    ).all()
    seen: dict[str, tuple[str, datetime, str]] = {}
    for call_id, started, text in rows:
        seen.setdefault(call_id, (call_id, started, text))
    return list(seen.values())[:limit]


# -- staffing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaffingSlot:
    day: date
    slot: int
    label: str  # HH:MM local
    calls: float  # forecast offered calls
    agents: int  # on the phones
    rostered: int  # with shrinkage
    service_level: float
    asa_seconds: float


@dataclass(frozen=True)
class StaffingPlan:
    aht_seconds: float
    weeks: int
    slots: list[StaffingSlot]


def staffing(
    session: Session,
    *,
    start: date,
    days: int,
    tz: ZoneInfo,
    now: datetime,
    weeks: int = 4,
    target_level: float = 0.8,
    target_seconds: int = 20,
    shrinkage: float = 0.3,
    events: dict[date, float] | None = None,
    default_aht: float = 240.0,
) -> StaffingPlan:
    """Forecast offered calls per half hour from ``weeks`` weeks before today, and the agents."""
    today = now.astimezone(tz).date()
    hist_start = datetime.combine(today - timedelta(days=7 * weeks), datetime.min.time(), tz)
    hist_end = datetime.combine(today, datetime.min.time(), tz)
    history: dict[tuple[date, int], float] = defaultdict(float)
    total = CallTotals()
    for bucket, t in half_hours(session, hist_start.astimezone(UTC), hist_end.astimezone(UTC)):
        local = bucket.astimezone(tz)
        history[(local.date(), local.hour * 2 + local.minute // 30)] += t.offered
        total.add(t)
    aht = (
        (total.talk_seconds + total.wrap_seconds) / total.handled if total.handled else default_aht
    )
    slots = []
    for f in forecast(history, start=start, days=days, weeks=weeks, history_end=today,
                      events=events):  # fmt: skip
        plan = erlang.agents_needed(
            f.calls, aht, target_level=target_level, target_seconds=target_seconds,
            shrinkage=shrinkage,
        )  # fmt: skip
        slots.append(
            StaffingSlot(
                f.day,
                f.slot,
                f.label,
                round(f.calls, 2),
                plan.agents,
                plan.rostered,
                plan.service_level,
                plan.asa_seconds,
            )
        )
    assert len(slots) == days * SLOTS
    return StaffingPlan(aht, weeks, slots)
