"""Agent performance routes (included by ``tingyin.qa.api``'s router, under ``/api/qa``): the
table per agent and team, one agent's daily trend (JSON and an SVG plot), and the CSV export.

Supervisors, QA and admins see everyone; an agent sees only their own row and trend (403 for
another agent's). Periods are the reports' (``since``/``until`` or ``days``; default today).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response

from tingyin.qa.actions import REVIEWER_ROLES
from tingyin.qa.performance import KpiConfig, KpiFileError, Kpis, load_kpi_config
from tingyin.qa.performance_queries import Performance, performance, trend
from tingyin.qa.schemas import (
    AgentPerformanceOut,
    KpisOut,
    PerformanceOut,
    TeamPerformanceOut,
    TrendDayOut,
    TrendOut,
)
from tingyin.reports import plots
from tingyin.reports.api import Period
from tingyin.reports.tables import Cell, Table
from tingyin.store.models import User
from tingyin.web.context import AppContext
from tingyin.web.deps import AppSettings, CurrentUser, DbSession

router = APIRouter()
Team = Annotated[str | None, Query(max_length=40)]
Lang = Annotated[Literal["zh", "en"], Query()]
PRIVATE = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}


def kpi_config(request: Request) -> KpiConfig:
    """The KPI file from the settings, loaded once per app (503 with its mistakes)."""
    config = getattr(request.app.state, "kpi_config", None)
    if config is None:
        settings = cast(AppContext, request.app.state.context).settings
        try:
            config = load_kpi_config(settings.qa.kpi_file)
        except KpiFileError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        request.app.state.kpi_config = config
    return cast(KpiConfig, config)


def _read(
    request: Request, session: DbSession, settings: AppSettings, period: Period, user: User,
    team: str | None,
) -> tuple[KpiConfig, Performance]:  # fmt: skip
    config = kpi_config(request)
    own = None if user.role in REVIEWER_ROLES else user.id
    found = performance(
        session, period.since, period.until, config, tz=period.tz,
        fcr_window=timedelta(hours=settings.reports.fcr_window_hours),
        team=team if own is None else None, agent_id=own,
    )  # fmt: skip
    if own is not None:  # an agent: their own row, no team figures of the others
        found = Performance(found.agents, [])
    return config, found


@router.get("/performance", response_model=PerformanceOut)
def agent_performance(
    request: Request, session: DbSession, settings: AppSettings, period: Period,
    user: CurrentUser, team: Team = None,
) -> PerformanceOut:  # fmt: skip
    """Per agent (best overall score first) and per team, for the period."""
    config, found = _read(request, session, settings, period, user, team)
    return PerformanceOut(
        since=period.since,
        until=period.until,
        timezone=settings.timezone,
        weights=config.weights,
        agents=[
            AgentPerformanceOut(
                agent_id=r.agent_id,
                username=r.username,
                name=r.name,
                team=r.team,
                kpis=KpisOut.model_validate(r.kpis),
            )
            for r in found.agents
        ],
        teams=[
            TeamPerformanceOut(team=t.team, agents=t.agents, kpis=KpisOut.model_validate(t.kpis))
            for t in found.teams
        ],
    )


def _trend(
    request: Request, session: DbSession, settings: AppSettings, period: Period, user: User,
    agent_id: int,
) -> tuple[User, list[TrendDayOut]]:  # fmt: skip
    if user.role not in REVIEWER_ROLES and agent_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent sees only their own figures")
    agent = session.get(User, agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent")
    days = trend(
        session, agent_id, period.since, period.until, kpi_config(request), tz=period.tz,
        fcr_window=timedelta(hours=settings.reports.fcr_window_hours),
    )  # fmt: skip
    return agent, [TrendDayOut(day=d, kpis=KpisOut.model_validate(k)) for d, k in days]


@router.get("/performance/{agent_id}/trend", response_model=TrendOut)
def agent_trend(
    agent_id: int, request: Request, session: DbSession, settings: AppSettings, period: Period,
    user: CurrentUser,
) -> TrendOut:  # fmt: skip
    """One agent's KPIs per local day of the period."""
    agent, days = _trend(request, session, settings, period, user, agent_id)
    return TrendOut(agent_id=agent_id, name=agent.display_name or agent.username,
                    since=period.since, until=period.until, days=days)  # fmt: skip


TREND_LINES = {
    "zh": {"score": "综合得分", "satisfaction": "满意度", "resolution": "首次解决",
           "qa": "质检均分", "title": "{name} · 每日绩效（0–100）"},
    "en": {"score": "overall", "satisfaction": "satisfaction", "resolution": "first-contact",
           "qa": "QA average", "title": "{name} · daily performance (0–100)"},
}  # fmt: skip


@router.get("/performance/{agent_id}/trend.svg", response_class=Response)
def trend_plot(
    agent_id: int, request: Request, session: DbSession, settings: AppSettings, period: Period,
    user: CurrentUser, lang: Lang = "zh",
) -> Response:  # fmt: skip
    """The trend as an SVG line chart: the overall score and three KPI scores per day."""
    agent, days = _trend(request, session, settings, period, user, agent_id)
    words = TREND_LINES[lang]
    series = {words["score"]: [(d.day, d.kpis.score) for d in days]}
    for key in ("satisfaction", "resolution", "qa"):
        series[words[key]] = [(d.day, d.kpis.scores.get(key)) for d in days]
    title = words["title"].format(name=agent.display_name or agent.username)
    span = (period.first_day, period.last_day)
    svg = plots.line_chart(series, title=title, ylim=(0, 105), xlim=span)
    return Response(svg, media_type="image/svg+xml", headers=PRIVATE)


COLUMNS = [
    "坐席 (agent)", "用户名 (username)", "组 (team)", "接听量 (handled)", "平均处理秒 (AHT s)",
    "保持秒 (hold s)", "保持占比% (hold share)", "及时接起率% (response)",
    "首次解决率% (FCR)", "满意度% (CSAT)", "回访数 (surveys)", "质检均分 (QA average)",
    "投诉 (complaints)", "投诉率% (complaint rate)", "主动服务 (proactive)", "综合得分 (score)",
    "有数据权重% (weight covered)",
]  # fmt: skip


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _one(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def kpi_cells(k: Kpis) -> list[Cell]:
    return [
        k.handled, _one(k.aht_seconds), _one(k.hold_seconds), _pct(k.hold_share),
        _pct(k.response), _pct(k.fcr), _pct(k.csat), k.surveys, _one(k.qa_average),
        k.complaints, _pct(k.complaint_rate), k.proactive, k.score, _pct(k.coverage),
    ]  # fmt: skip


def performance_table(found: Performance) -> Table:
    table = Table("performance", "坐席绩效 (agent performance)", COLUMNS)
    for r in found.agents:
        table.rows.append([r.name, r.username, r.team, *kpi_cells(r.kpis)])
    for t in found.teams:
        name = t.team or "未分组 (no team)"
        table.rows.append([f"组合计 (team): {name}", "", t.team, *kpi_cells(t.kpis)])
    return table


@router.get("/performance.csv", response_class=Response)
def export_csv(
    request: Request, session: DbSession, settings: AppSettings, period: Period,
    user: CurrentUser, team: Team = None,
) -> Response:  # fmt: skip
    """The table as CSV (UTF-8 with BOM for Excel): agents, then the team totals."""
    _config, found = _read(request, session, settings, period, user, team)
    stamp = period.since.astimezone(period.tz).strftime("%Y%m%d")
    headers = PRIVATE | {
        "Content-Disposition": f'attachment; filename="tingyin-performance-{stamp}.csv"'
    }
    return Response(
        performance_table(found).csv_bytes(), media_type="text/csv; charset=utf-8", headers=headers
    )
