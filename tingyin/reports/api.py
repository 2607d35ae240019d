"""Reports for supervisors, QA and admins (agents get 403): the dashboard, complaints,
keywords, staffing, and the rows behind any number. Plots and exports: ``files_api``.

Every period is [since, until) in UTC, asked as ``days`` (the last N calendar days in the site's
zone, today included) or ``since``/``until``; the default is today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime

from tingyin.bus.events import utcnow
from tingyin.reports import complaints, queries
from tingyin.reports.figures import CallTotals, call_figures
from tingyin.reports.keywords import rank
from tingyin.reports.rollup import last_refresh
from tingyin.reports.schemas import (
    CallFiguresOut,
    CallRowOut,
    ComplaintsOut,
    DashboardOut,
    DayCountOut,
    DayOut,
    KeywordsOut,
    RankedTermOut,
    RisingTermOut,
    ShareOut,
    StaffingOut,
    StaffingSlotOut,
    TermCallOut,
    TicketFiguresOut,
    TicketRowOut,
)
from tingyin.web.deps import AppSettings, DbSession, require_roles

REPORT_ROLES = ("supervisor", "qa", "admin")
MAX_DAYS = 366
FILTERS = ("category", "store", "merchant", "rider", "channel", "order_channel", "party",
           "weekday", "hour", "day")  # fmt: skip

router = APIRouter(tags=["reports"], dependencies=[Depends(require_roles(*REPORT_ROLES))])
When = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")]
Days = Annotated[
    int | None,
    Query(ge=1, le=MAX_DAYS, description="the last N calendar days in the site's zone (1 = today)"),
]
Category = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_]*$")]
Dimension = Annotated[str, Query(pattern="^(" + "|".join(complaints.DIMENSIONS) + ")$")]


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    tz: ZoneInfo

    @property
    def first_day(self) -> date:
        return self.since.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).astimezone(self.tz).date()


def _bad(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def window(
    settings: AppSettings, since: When = None, until: When = None, days: Days = None
) -> Window:
    tz = ZoneInfo(settings.timezone)
    now = utcnow()
    if days is not None or (since is None and until is None):
        if since is not None or until is not None:
            raise _bad("give either days or since/until, not both")
        first = now.astimezone(tz).date() - timedelta(days=(days or 1) - 1)
        return Window(datetime.combine(first, time(), tz).astimezone(UTC), now, tz)
    end = until or now
    start = since or end - timedelta(days=1)
    if end <= start:
        raise _bad("until must be after since")
    if end - start > timedelta(days=MAX_DAYS):
        raise _bad(f"the window may span at most {MAX_DAYS} days")
    return Window(start.astimezone(UTC), end.astimezone(UTC), tz)


Period = Annotated[Window, Depends(window)]


@router.get("/api/reports/dashboard", response_model=DashboardOut)
def dashboard(session: DbSession, settings: AppSettings, period: Period) -> DashboardOut:
    """Calls, service level, AHT, IVR, FCR, callbacks, tickets' SLA, CSAT, recurrence, backlog."""
    cfg = settings.reports
    sl = cfg.service_level_seconds
    queues = queries.by_queue(session, period.since, period.until)
    calls = CallFiguresOut.model_validate(call_figures(CallTotals.sum(queues.values()), sl))
    tickets = queries.ticket_figures(
        session, period.since, period.until, utcnow(), tz=period.tz,
        recurrence_alert=cfg.recurrence_alert,
    )  # fmt: skip
    alerts = []
    if tickets.recurrence.alert:
        alerts.append("recurrence")
    if calls.service_level is not None and calls.service_level < cfg.service_level_target:
        alerts.append("service_level")
    return DashboardOut(
        since=period.since,
        until=period.until,
        timezone=settings.timezone,
        as_of=last_refresh(session),
        service_level_seconds=sl,
        service_level_target=cfg.service_level_target,
        calls=calls,
        queues={q: CallFiguresOut.model_validate(call_figures(t, sl)) for q, t in queues.items()},
        days=[
            DayOut(day=d, figures=CallFiguresOut.model_validate(call_figures(t, sl)))
            for d, t in queries.by_day(session, period.since, period.until)
        ],
        tickets=TicketFiguresOut.model_validate(tickets),
        backlog=queries.backlog(session),
        alerts=alerts,
    )


@router.get("/api/reports/calls", response_model=list[CallRowOut])
def calls_behind(session: DbSession, period: Period) -> list[CallRowOut]:
    """The calls started in the period (newest first, at most 200): the rows behind a figure."""
    rows = complaints.drill_calls(session, period.since, period.until)
    return [CallRowOut.model_validate(r) for r in rows]


@router.get("/api/reports/complaints", response_model=ComplaintsOut)
def complaint_analytics(
    session: DbSession, period: Period, dimension: Dimension = "category",
    category: Category = None,
) -> ComplaintsOut:  # fmt: skip
    """Tickets by category, store, merchant, rider or channel; trend; weekday × hour."""
    first, last = period.first_day, period.last_day
    trend = complaints.complaint_trend(session, first, last)
    total = sum(n for c, s in trend.items() if not category or c == category for _, n in s)
    shares = complaints.complaint_shares(
        session, first, last, dimension, category=category or None, total=total
    )
    return ComplaintsOut(
        since=period.since,
        until=period.until,
        dimension=dimension,
        total=total,
        shares=[ShareOut.model_validate(s) for s in shares],
        trend={c: [DayCountOut(day=d, tickets=n) for d, n in s] for c, s in trend.items()},
        heatmap=complaints.complaint_heatmap(session, first, last, category or None),
    )


def ticket_filters(
    category: Category = None,
    store: Annotated[int | None, Query(ge=1)] = None,
    merchant: Annotated[int | None, Query(ge=1)] = None,
    rider: Annotated[int | None, Query(ge=1)] = None,
    channel: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z_]*$")] = None,
    order_channel: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z_]*$")] = None,
    party: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]*$")] = None,
    weekday: Annotated[int | None, Query(ge=0, le=6, description="0 = Monday")] = None,
    hour: Annotated[int | None, Query(ge=0, le=23)] = None,
    day: Annotated[date | None, Query()] = None,
) -> dict[str, str]:
    values = {"category": category, "store": store, "merchant": merchant, "rider": rider,
              "channel": channel, "order_channel": order_channel, "party": party,
              "weekday": weekday, "hour": hour, "day": day}  # fmt: skip
    return {k: v.isoformat() if isinstance(v, date) else str(v)
            for k, v in values.items() if v not in (None, "")}  # fmt: skip


Filters = Annotated[dict[str, str], Depends(ticket_filters)]


@router.get("/api/reports/complaints/tickets", response_model=list[TicketRowOut])
def tickets_behind(session: DbSession, period: Period, filters: Filters) -> list[TicketRowOut]:
    """The tickets behind a complaint number (newest first, at most 200), with their calls."""
    rows = complaints.drill_tickets(session, period.first_day, period.last_day, filters=filters)
    return [TicketRowOut.model_validate(r) for r in rows]


@router.get("/api/reports/keywords", response_model=KeywordsOut)
def keywords(
    session: DbSession, period: Period, category: Category = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> KeywordsOut:  # fmt: skip
    """Terms callers said, by how many calls, and the terms rising this week."""
    counts, docs = queries.term_counts(session, period.first_day, period.last_day, category)
    return KeywordsOut(
        first=period.first_day,
        last=period.last_day,
        category=category,
        calls=docs,
        top=[RankedTermOut.model_validate(t) for t in rank(counts, docs, limit)],
        rising=[
            RisingTermOut.model_validate(t)
            for t in queries.rising_terms(session, period.last_day, category)
        ],
    )


@router.get("/api/reports/keywords/calls", response_model=list[TermCallOut])
def term_calls(
    session: DbSession, period: Period,
    term: Annotated[str, Query(min_length=1, max_length=32)],
) -> list[TermCallOut]:  # fmt: skip
    """The calls of the period whose caller said ``term`` (newest first, at most 50)."""
    rows = queries.calls_with_term(session, term, period.since, period.until)
    return [TermCallOut(call_id=c, started_at=s, text=t) for c, s, t in rows]


@router.get("/api/reports/staffing", response_model=StaffingOut)
def staffing(
    session: DbSession, settings: AppSettings,
    days: Annotated[int, Query(ge=1, le=14)] = 3,
    weeks: Annotated[int, Query(ge=1, le=12)] = 4,
) -> StaffingOut:  # fmt: skip
    """Forecast calls per half hour from today on, and the agents Erlang C says they need."""
    cfg = settings.reports
    tz = ZoneInfo(settings.timezone)
    now = utcnow()
    plan = queries.staffing(
        session, start=now.astimezone(tz).date(), days=days, tz=tz, now=now, weeks=weeks,
        target_level=cfg.service_level_target, target_seconds=cfg.service_level_seconds,
        shrinkage=cfg.shrinkage,
    )  # fmt: skip
    return StaffingOut(
        aht_seconds=plan.aht_seconds,
        weeks=plan.weeks,
        service_level_target=cfg.service_level_target,
        service_level_seconds=cfg.service_level_seconds,
        shrinkage=cfg.shrinkage,
        slots=[StaffingSlotOut.model_validate(s) for s in plan.slots],
        peak_agents=max((s.agents for s in plan.slots), default=0),
        peak_rostered=max((s.rostered for s in plan.slots), default=0),
    )
