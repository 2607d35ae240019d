"""Report plots (SVG, the word cloud PNG) and every table as CSV or XLSX, for the same periods
and roles as ``tingyin.reports.api`` (whose router includes this one)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response

from tingyin.bus.events import utcnow
from tingyin.reports import complaints, plots, queries, tables
from tingyin.reports.api import REPORT_ROLES, Category, Dimension, Filters, Period
from tingyin.reports.figures import call_figures
from tingyin.tickets.policy import load_ticket_policy
from tingyin.web.context import AppContext
from tingyin.web.deps import AppSettings, Context, DbSession, require_roles

router = APIRouter(tags=["reports"], dependencies=[Depends(require_roles(*REPORT_ROLES))])
PLOTS = ("calls", "service_level", "complaints_trend", "complaints_by", "complaints_hours",
         "staffing")  # fmt: skip
TABLES = ("daily", "half_hours", "queues", "complaints", "complaints_hours", "tickets", "calls",
          "keywords", "rising", "staffing", "backlog")  # fmt: skip
PRIVATE = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PlotName = Annotated[str, PathParam(pattern="^(" + "|".join(PLOTS) + ")$")]
TableName = Annotated[str, PathParam(pattern="^(" + "|".join(TABLES) + ")$")]
Lang = Annotated[Literal["zh", "en"], Query()]

TITLES = {
    "zh": {"calls": "来电与接通", "service_level": "服务水平", "complaints_trend": "每日投诉",
           "complaints_by": "投诉分布", "complaints_hours": "投诉时段（星期 × 小时）",
           "staffing": "预测来电与所需坐席", "offered": "进入队列", "answered": "接通",
           "abandoned": "放弃"},
    "en": {"calls": "Calls offered and answered", "service_level": "Service level",
           "complaints_trend": "Complaints per day", "complaints_by": "Complaints by",
           "complaints_hours": "Complaints by weekday and hour",
           "staffing": "Forecast calls and agents needed", "offered": "offered",
           "answered": "answered", "abandoned": "abandoned"},
}  # fmt: skip


DIMENSIONS = {
    "zh": {"category": "类别", "store": "门店", "merchant": "商家", "rider": "骑手",
           "channel": "工单渠道", "order_channel": "下单平台", "party": "责任方"},
    "en": {"category": "category", "store": "store", "merchant": "merchant", "rider": "rider",
           "channel": "ticket channel", "order_channel": "order platform",
           "party": "responsible party"},
}  # fmt: skip


def category_labels(context: AppContext, lang: str) -> dict[str, str]:
    """Category code → its label in the ticket policy (the same policy the tickets use)."""
    if context.tickets is None:
        context.tickets = load_ticket_policy(context.settings.tickets.policy_file)
    return {c.code: c.label(lang) for c in context.tickets.categories}


@router.get("/api/reports/plots/{name}.svg", response_class=Response)
def plot(
    name: PlotName, session: DbSession, settings: AppSettings, context: Context, period: Period,
    dimension: Dimension = "category", category: Category = None, lang: Lang = "zh",
) -> Response:  # fmt: skip
    """One chart of the period as SVG (text drawn by the browser's own fonts)."""
    t = TITLES[lang]
    labels = category_labels(context, lang)
    sl = settings.reports.service_level_seconds
    if name in ("calls", "service_level"):
        days = queries.by_day(session, period.since, period.until)
        if name == "calls":
            svg = plots.line_chart(
                {t[k]: [(d, float(getattr(x, k))) for d, x in days]
                 for k in ("offered", "answered", "abandoned")},
                title=t["calls"],
            )  # fmt: skip
        else:
            points = [(d, call_figures(x, sl).service_level) for d, x in days]
            svg = plots.line_chart({f"≤{sl}s": points}, title=t[name], percent=True)
    elif name == "complaints_trend":
        trend = complaints.complaint_trend(session, period.first_day, period.last_day)
        named = {labels.get(code, code): points for code, points in trend.items()}
        svg = plots.stacked_days(named, title=t[name])
    elif name == "complaints_by":
        shares = complaints.complaint_shares(
            session, period.first_day, period.last_day, dimension, limit=15, category=category
        )
        svg = plots.bar_chart(
            [s.label or labels.get(s.key, s.key) or "—" for s in shares],
            [s.tickets for s in shares],
            title=f"{t[name]} · {DIMENSIONS[lang][dimension]}",
        )
    elif name == "complaints_hours":
        grid = complaints.complaint_heatmap(session, period.first_day, period.last_day, category)
        svg = plots.heatmap(grid, title=t[name], language=lang)
    else:
        plan = _staffing(session, settings, 1)
        svg = plots.staffing_chart(
            [s.label for s in plan.slots], [s.calls for s in plan.slots],
            [s.agents for s in plan.slots], title=t[name],
        )  # fmt: skip
    return Response(svg, media_type="image/svg+xml", headers=PRIVATE)


@router.get("/api/reports/wordcloud.png", response_class=Response)
def wordcloud(session: DbSession, period: Period, category: Category = None) -> Response:
    """The period's caller terms as a word cloud (404 without words or without a CJK font)."""
    counts, _docs = queries.term_counts(session, period.first_day, period.last_day, category)
    png = plots.word_cloud(dict(counts.most_common(80)))
    if png is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no words, or no CJK font on the server")
    return Response(png, media_type="image/png", headers=PRIVATE)


def _staffing(session: DbSession, settings: AppSettings, days: int) -> queries.StaffingPlan:
    cfg, tz, now = settings.reports, ZoneInfo(settings.timezone), utcnow()
    return queries.staffing(
        session, start=now.astimezone(tz).date(), days=days, tz=tz, now=now,
        target_level=cfg.service_level_target, target_seconds=cfg.service_level_seconds,
        shrinkage=cfg.shrinkage,
    )  # fmt: skip


@router.get("/api/reports/export/{name}.{fmt}", response_class=Response)
def export(
    name: TableName,
    fmt: Annotated[Literal["csv", "xlsx"], PathParam()],
    session: DbSession,
    settings: AppSettings,
    period: Period,
    filters: Filters,
    dimension: Dimension = "category",
) -> Response:
    """Any report table of the period as CSV (UTF-8 with BOM) or XLSX."""
    table = build_table(name, session, settings, period.since, period.until, period.tz,
                        filters=filters, dimension=dimension)  # fmt: skip
    stamp = period.since.astimezone(period.tz).strftime("%Y%m%d")
    filename = f"tingyin-{table.name}-{stamp}.{fmt}"
    if fmt == "csv":
        body, media = table.csv_bytes(), "text/csv; charset=utf-8"
    else:
        body, media = table.xlsx_bytes(), XLSX
    headers = PRIVATE | {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media, headers=headers)


def build_table(
    name: str, session: DbSession, settings: AppSettings, since: datetime, until: datetime,
    tz: ZoneInfo, *, filters: dict[str, str] | None = None, dimension: str = "category",
) -> tables.Table:  # fmt: skip
    sl = settings.reports.service_level_seconds
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    if name == "daily":
        return tables.daily_table(queries.by_day(session, since, until), sl)
    if name == "half_hours":
        return tables.half_hour_table(queries.half_hours(session, since, until), tz, sl)
    if name == "queues":
        return tables.queue_table(queries.by_queue(session, since, until), sl)
    if name == "complaints":
        shares = complaints.complaint_shares(session, first, last, dimension, limit=1000)
        return tables.share_table(dimension, shares)
    if name == "complaints_hours":
        return tables.heatmap_table(complaints.complaint_heatmap(session, first, last))
    if name == "tickets":
        rows = complaints.drill_tickets(session, first, last, filters=filters or {}, limit=5000)
        return tables.ticket_table(rows, tz)
    if name == "calls":
        return tables.call_table(complaints.drill_calls(session, since, until, limit=5000), tz)
    if name == "keywords":
        return tables.keyword_table(queries.top_terms(session, first, last, limit=500))
    if name == "rising":
        return tables.rising_table(queries.rising_terms(session, last))
    if name == "staffing":
        return tables.staffing_table(_staffing(session, settings, 7))
    return tables.backlog_table(queries.backlog(session))
