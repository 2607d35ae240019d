"""``GET /api/room``: the wallboard at page load (supervisors, QA and admins); /ws/events keeps
it live from there. The alert rules' labels come with it so the page names what fired."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from tingyin.agents.queries import agents, day_start
from tingyin.bus.events import utcnow
from tingyin.listening.permissions import team_members
from tingyin.listening.queries import live_calls, queue_figures, stored_alerts
from tingyin.listening.rules import AlertRules, load_alert_rules
from tingyin.qa.performance import KpiFileError
from tingyin.store.models import AgentProfile, User
from tingyin.web.deps import AppSettings, DbSession, require_roles

ROOM_ROLES = ("supervisor", "qa", "admin")

router = APIRouter(tags=["listening"])
Watcher = Annotated[User, Depends(require_roles(*ROOM_ROLES))]


def alert_rules(request: Request) -> AlertRules:
    """The alert rules file, loaded once per app (from Settings.listening.rules_file)."""
    rules = cast(AlertRules | None, getattr(request.app.state, "alert_rules", None))
    if rules is None:
        rules = load_alert_rules(request.app.state.settings.listening.rules_file)
        request.app.state.alert_rules = rules
    return rules


Rules = Annotated[AlertRules, Depends(alert_rules)]


class RoomAgentOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    state: str = "offline"
    reason: str = ""
    since: datetime | None = None
    call_id: str | None = None


class LineOut(BaseModel):
    leg: str
    start: float
    text: str


class RoomCallOut(BaseModel):
    call_id: str
    started_at: datetime
    answered_at: datetime | None
    caller: str  # masked
    agent_id: int
    caller_kind: str
    name: str
    flags: list[str]
    order_no: str | None
    lines: list[LineOut]  # the last few, oldest first


class QueuesOut(BaseModel):
    waiting: int
    longest_wait_seconds: float
    answered_today: int
    abandoned_today: int
    service_level: float | None  # share answered within service_level_seconds; None: no calls
    service_level_seconds: int


class AlertOut(BaseModel):
    call_id: str
    at: datetime
    rule: str
    kind: str
    severity: str
    at_seconds: float
    text: str
    agent_id: int
    live: bool  # the call is still on


class RoomOut(BaseModel):
    now: datetime  # the server's clock, for the page's timers
    agents: list[RoomAgentOut]
    calls: list[RoomCallOut]
    queues: QueuesOut
    alerts: list[AlertOut]  # today's, newest first
    rules: dict[str, dict[str, str]]  # name → zh, en, severity


@router.get("/api/room", response_model=RoomOut)
def room(watcher: Watcher, session: DbSession, settings: AppSettings, rules: Rules) -> RoomOut:
    """Agents and their states, calls in progress, the queues today and today's alerts (with
    ``listening.restrict_to_team``: only the watcher's teams' agents, their calls and alerts)."""
    now = utcnow()
    since = day_start(now, settings.timezone)
    figures = queue_figures(session, since, now, settings.reports.service_level_seconds)
    staff, calls, alerts = agents(session), live_calls(session, now), stored_alerts(session, since)
    try:
        team = team_members(watcher, settings)
    except KpiFileError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    if team is not None:  # the queue figures stay whole: counts, nobody's call
        staff = [(user, profile) for user, profile in staff if user.username in team]
        ids = {user.id for user, _profile in staff}
        ids_calls = {p.current_call_id for _u, p in staff if p is not None and p.current_call_id}
        calls = [c for c in calls if c.agent_id in ids or c.call_id in ids_calls]
        shown = {c.call_id for c in calls}
        alerts = [
            (row, live) for row, live in alerts
            if int(row.data.get("agent_id") or 0) in ids or row.call_id in shown
        ]  # fmt: skip
    return RoomOut(
        now=now,
        agents=[_agent(user, profile) for user, profile in staff if user.active],
        calls=[RoomCallOut.model_validate(c, from_attributes=True) for c in calls],
        queues=QueuesOut(
            waiting=figures.waiting,
            longest_wait_seconds=figures.longest_wait_seconds,
            answered_today=figures.answered,
            abandoned_today=figures.abandoned,
            service_level=figures.service_level,
            service_level_seconds=figures.service_level_seconds,
        ),
        alerts=[_alert(row.call_id, row.at, row.data, live) for row, live in alerts],
        rules=rules.labels(),
    )


def _agent(user: User, profile: AgentProfile | None) -> RoomAgentOut:
    out = RoomAgentOut(user_id=user.id, username=user.username, display_name=user.display_name)
    if profile is None:  # never signed in as an agent
        return out
    return out.model_copy(
        update={
            "state": profile.state,
            "reason": profile.state_reason,
            "since": profile.state_since,
            "call_id": profile.current_call_id,
        }
    )


def _alert(call_id: str, at: datetime, data: dict[str, Any], live: bool) -> AlertOut:
    return AlertOut(
        call_id=call_id,
        at=at,
        rule=str(data.get("rule", "")),
        kind=str(data.get("kind", "")),
        severity=str(data.get("severity", "warning")),
        at_seconds=float(data.get("at_seconds") or 0.0),
        text=str(data.get("text", "")),
        agent_id=int(data.get("agent_id") or 0),
        live=live,
    )
