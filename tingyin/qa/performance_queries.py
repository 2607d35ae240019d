"""Agent performance over a period: per agent, per team, and one agent's days.

The report pre-aggregates are per half hour and queue, not per agent, so these read the raw
rows, one local day at a time (memory stays at one day's calls; the ``IN`` lists stay short):
the day's calls, their ``agent_leg`` events (who rang, answered, held), the wrap-up stays of
``agent_state_log`` and the screen pop's order (FCR, decided by the reports' own
``repeat_calls``). Surveys and QA scores are few and read for the whole period. Plain SQL with
portable functions only, so SQLite and PostgreSQL give the same answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from tingyin.qa.performance import NO_TEAM, AgentTotals, KpiConfig, Kpis, call_agents, kpis
from tingyin.reports.recompute import day_bounds, repeat_calls
from tingyin.store.models import (
    AgentStateLog,
    Call,
    CallContext,
    CallEventRow,
    FollowUp,
    QaEvaluation,
    Ticket,
    User,
)

Key = tuple[int, date]  # agent, local day


@dataclass(frozen=True)
class AgentRow:
    agent_id: int
    username: str
    name: str
    team: str
    totals: AgentTotals
    kpis: Kpis


@dataclass(frozen=True)
class TeamRow:
    team: str
    agents: int
    totals: AgentTotals
    kpis: Kpis


@dataclass(frozen=True)
class Performance:
    agents: list[AgentRow]
    teams: list[TeamRow]


def _days(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local days of [since, until), each with its part of the window."""
    out: list[tuple[date, datetime, datetime]] = []
    day = since.astimezone(tz).date()
    while True:
        start, end = day_bounds(day, tz)
        if start >= until:
            return out
        out.append((day, max(start, since), min(end, until)))
        day += timedelta(days=1)


def _agent_leg_of(agent_id: int) -> ColumnElement[bool]:
    return exists().where(
        CallEventRow.call_id == Call.id,
        CallEventRow.kind == "agent_leg",
        CallEventRow.data["agent_id"].as_integer() == agent_id,
    )


def _calls(start: datetime, end: datetime, agent_id: int | None) -> list[ColumnElement[bool]]:
    conds = [Call.started_at >= start, Call.started_at < end]
    return conds + ([_agent_leg_of(agent_id)] if agent_id is not None else [])


def _day_totals(
    session: Session, start: datetime, end: datetime, config: KpiConfig, fcr_window: timedelta,
    agent_id: int | None,
) -> dict[int, AgentTotals]:  # fmt: skip
    calls = session.execute(
        select(Call.id, Call.started_at, Call.ended_at, Call.direction)
        .where(*_calls(start, end, agent_id))
        .order_by(Call.id)
    ).all()
    if not calls:
        return {}
    ids = select(Call.id).where(*_calls(start, end, agent_id)).scalar_subquery()
    events = session.execute(
        select(CallEventRow.call_id, CallEventRow.at, CallEventRow.data)
        .where(CallEventRow.call_id.in_(ids), CallEventRow.kind == "agent_leg")
        .order_by(CallEventRow.call_id, CallEventRow.at, CallEventRow.id)
    ).all()
    by_call = {k: [(r.at, r.data) for r in g] for k, g in groupby(events, lambda r: r[0])}
    wraps = {
        (call_id, user_id): float(seconds or 0)
        for call_id, user_id, seconds in session.execute(
            select(AgentStateLog.call_id, AgentStateLog.user_id, func.sum(AgentStateLog.seconds))
            .where(AgentStateLog.call_id.in_(ids), AgentStateLog.state == "wrap_up")
            .group_by(AgentStateLog.call_id, AgentStateLog.user_id)
        )
    }
    orders: dict[str, str | None] = dict(
        session.execute(
            select(CallContext.call_id, CallContext.order_no).where(
                CallContext.call_id.in_(ids), CallContext.order_no.is_not(None)
            )
        ).all()
    )
    per_call: dict[str, dict[int, AgentTotals]] = {}
    for call_id, _started, ended_at, direction in calls:
        agents = call_agents(
            by_call.get(call_id, []), ended_at=ended_at, outbound=direction == "outbound",
            answer_seconds=config.targets.answer_seconds,
        )  # fmt: skip
        for user_id, t in agents.items():
            if t.handled:
                t.wrap_seconds = wraps.get((call_id, user_id), 0.0)
        per_call[call_id] = agents
    eligible = [
        (c.id, c.started_at, c.ended_at)
        for c in calls
        if orders.get(c.id) and any(t.handled for t in per_call[c.id].values())
    ]
    repeats = repeat_calls(session, eligible, orders, fcr_window, end) if eligible else set()
    out: dict[int, AgentTotals] = defaultdict(AgentTotals)
    for call_id, agents in per_call.items():
        for user_id, t in agents.items():
            if t.handled and orders.get(call_id):
                t.fcr_eligible, t.fcr_repeat = 1, int(call_id in repeats)
            out[user_id].add(t)
    return out


def agent_day_totals(
    session: Session, since: datetime, until: datetime, config: KpiConfig, *,
    tz: ZoneInfo, fcr_window: timedelta, agent_id: int | None = None,
) -> dict[Key, AgentTotals]:  # fmt: skip
    """Every agent's (or one agent's) counts per local day of [since, until)."""
    out: dict[Key, AgentTotals] = defaultdict(AgentTotals)
    for day, start, end in _days(since, until, tz):
        for user_id, t in _day_totals(session, start, end, config, fcr_window, agent_id).items():
            if agent_id is None or user_id == agent_id:  # not the others on the same calls
                out[(user_id, day)].add(t)
    surveys = (
        select(Ticket.created_by, FollowUp.answered_at, FollowUp.score)
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .where(
            FollowUp.answered_at >= since, FollowUp.answered_at < until,
            FollowUp.score.is_not(None), Ticket.created_by.is_not(None),
        )
    )  # fmt: skip
    if agent_id is not None:
        surveys = surveys.where(Ticket.created_by == agent_id)
    for creator, at, score in session.execute(surveys):
        if creator is not None and at is not None and score is not None:
            out[(creator, at.astimezone(tz).date())].add_survey(score, config.targets)
    scores = select(QaEvaluation.agent_id, QaEvaluation.created_at, QaEvaluation.total).where(
        QaEvaluation.kind != "auto",
        QaEvaluation.calibration_id.is_(None),
        QaEvaluation.agent_id.is_not(None),
        QaEvaluation.created_at >= since,
        QaEvaluation.created_at < until,
    )
    if agent_id is not None:
        scores = scores.where(QaEvaluation.agent_id == agent_id)
    for scored, at, total in session.execute(scores):
        if scored is not None:
            out[(scored, at.astimezone(tz).date())].add_qa(total)
    return dict(out)


def _users(session: Session, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """The agents to list: every active agent, and anyone else with figures (a supervisor who
    took calls)."""
    rows = session.execute(
        select(User.id, User.username, User.display_name).where(
            or_(and_(User.role == "agent", User.active.is_(True)), User.id.in_(list(ids)))
        )
    ).all()
    return [(r.id, r.username, r.display_name or r.username) for r in rows]


def performance(
    session: Session, since: datetime, until: datetime, config: KpiConfig, *,
    tz: ZoneInfo, fcr_window: timedelta, team: str | None = None, agent_id: int | None = None,
) -> Performance:  # fmt: skip
    """Per agent and per team, best overall score first (agents without one last)."""
    days = agent_day_totals(
        session, since, until, config, tz=tz, fcr_window=fcr_window, agent_id=agent_id
    )
    totals: dict[int, AgentTotals] = defaultdict(AgentTotals)
    for (user_id, _day), t in days.items():
        totals[user_id].add(t)
    rows = []
    for user_id, username, name in _users(session, sorted(totals)):
        if agent_id is not None and user_id != agent_id:
            continue
        in_team = config.team_of(username)
        if team is not None and in_team != team:
            continue
        t = totals.get(user_id, AgentTotals())
        rows.append(AgentRow(user_id, username, name, in_team, t, kpis(t, config)))
    rows.sort(key=lambda r: (r.kpis.score is None, -(r.kpis.score or 0), r.name))
    teams = []
    by_team: dict[str, list[AgentRow]] = defaultdict(list)
    for row in rows:
        by_team[row.team].append(row)
    for name in sorted(by_team, key=lambda n: (n == NO_TEAM, n)):
        t = AgentTotals.sum(r.totals for r in by_team[name])
        teams.append(TeamRow(name, len(by_team[name]), t, kpis(t, config)))
    return Performance(rows, teams)


def trend(
    session: Session, agent_id: int, since: datetime, until: datetime, config: KpiConfig, *,
    tz: ZoneInfo, fcr_window: timedelta,
) -> list[tuple[date, Kpis]]:  # fmt: skip
    """One agent's KPIs per local day of the period (days without anything are absent)."""
    days = agent_day_totals(
        session, since, until, config, tz=tz, fcr_window=fcr_window, agent_id=agent_id
    )
    return [(day, kpis(t, config)) for (_user, day), t in sorted(days.items())]
