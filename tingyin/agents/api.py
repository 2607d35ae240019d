"""Agent routes: my state (就绪 / 示忙 / 离线), everyone's states for supervisors, the profile
an admin sets (extension, phone, skills), the state history with durations, and for anyone
logged in the queues and the ready agents a call can be transferred to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tingyin.agents.actions import (
    AgentError,
    ProfileChanges,
    configure_agent,
    set_state,
    state_event,
)
from tingyin.agents.config import QueueConfig, load_queue_config
from tingyin.agents.queries import (
    MAX_HISTORY_ROWS,
    agents,
    day_start,
    seconds_in,
    state_log,
    totals_by_state,
)
from tingyin.agents.schemas import (
    AgentMeOut,
    AgentOut,
    AgentRowOut,
    ProfileIn,
    ReasonOut,
    StateIn,
    StateLogOut,
)
from tingyin.bus.events import utcnow
from tingyin.store.models import AgentProfile, User
from tingyin.web.deps import AdminUser, AppSettings, Bus, CurrentUser, DbSession, require_roles

router = APIRouter(tags=["agents"])
Watcher = Annotated[User, Depends(require_roles("supervisor", "qa", "admin"))]
WATCHERS = ("supervisor", "qa", "admin")


def queue_config(request: Request) -> QueueConfig:
    """The queue file, loaded once per app (from Settings.queues.config_file, else built in)."""
    config = cast(QueueConfig | None, getattr(request.app.state, "queue_config", None))
    if config is None:
        settings = request.app.state.settings
        config = load_queue_config(settings.queues.config_file)
        request.app.state.queue_config = config
    return config


Config = Annotated[QueueConfig, Depends(queue_config)]


class QueueOut(BaseModel):
    name: str
    zh: str
    en: str


class AvailableAgentOut(BaseModel):
    """A transfer target: who, and nothing about how to reach them (no extension, no URI)."""

    user_id: int
    display_name: str  # the user name when the user has no display name
    state: str


def _out(user: User, profile: AgentProfile | None, now: datetime) -> AgentOut:
    out = AgentOut(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
    )
    if profile is None:
        return out
    return out.model_copy(
        update={
            "extension": profile.extension,
            "phone_uri": profile.phone_uri,
            "lines": list(profile.lines),
            "languages": list(profile.languages),
            "level": profile.level,
            "state": profile.state,
            "reason": profile.state_reason,
            "since": profile.state_since,
            "seconds_in_state": round(max(0.0, (now - profile.state_since).total_seconds()), 1),
            "idle_since": profile.idle_since,
            "missed_offers": profile.missed_offers,
            "call_id": profile.current_call_id,
        }
    )


def _me(user: User, profile: AgentProfile | None, config: QueueConfig, now: datetime) -> AgentMeOut:
    return AgentMeOut(
        **_out(user, profile, now).model_dump(),
        reasons=[ReasonOut(**r.model_dump()) for r in config.agents.not_ready_reasons],
        wrap_up_seconds=config.agents.wrap_up_seconds,
        now=now,
    )


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    return user


@router.get("/api/agents/me", response_model=AgentMeOut)
def my_state(user: CurrentUser, session: DbSession, config: Config) -> AgentMeOut:
    """My profile and state (offline until I first change it) and the not-ready reasons."""
    return _me(user, session.get(AgentProfile, user.id), config, utcnow())


@router.post("/api/agents/me/state", response_model=AgentMeOut)
def change_my_state(
    body: StateIn, user: CurrentUser, session: DbSession, config: Config, bus: Bus
) -> AgentMeOut:
    """Ready, not ready (with a reason) or offline. 409 while ringing or on a call, or for a
    state only the system sets; 422 for an unknown reason."""
    now = utcnow()
    before = session.get(AgentProfile, user.id)
    was = (before.state, before.state_reason) if before is not None else None
    try:
        profile = set_state(session, config, user.id, body.state, reason=body.reason, now=now)
    except AgentError as exc:
        raise HTTPException(exc.status, exc.message) from None
    if was != (profile.state, profile.state_reason):
        bus.publish(state_event(user, profile))
    return _me(user, profile, config, now)


@router.get("/api/queues", response_model=list[QueueOut])
def list_queues(config: Config) -> list[QueueOut]:
    """The queues of the queue file, in its order, with their labels (any logged-in role)."""
    return [QueueOut(name=q.name, zh=q.zh, en=q.en) for q in config.queues]


@router.get("/api/agents/available", response_model=list[AvailableAgentOut])
def available_agents(user: CurrentUser, session: DbSession) -> list[AvailableAgentOut]:
    """The other active agents who are ready now, by user name: whom a call can go to."""
    return [
        AvailableAgentOut(
            user_id=other.id,
            display_name=other.display_name or other.username,
            state=profile.state,
        )
        for other, profile in agents(session)
        if profile is not None and profile.state == "ready" and other.active and other.id != user.id
    ]


@router.get("/api/agents", response_model=list[AgentRowOut])
def list_agents(watcher: Watcher, session: DbSession, settings: AppSettings) -> list[AgentRowOut]:
    """Every agent: profile, state, reason, time in state and today's seconds per state."""
    now = utcnow()
    rows = agents(session)
    totals = totals_by_state(
        session, [u.id for u, _ in rows], day_start(now, settings.timezone), now
    )
    return [
        AgentRowOut(**_out(user, profile, now).model_dump(), today=totals.get(user.id, {}))
        for user, profile in rows
    ]


@router.put("/api/agents/{user_id}", response_model=AgentOut)
def configure(user_id: int, body: ProfileIn, admin: AdminUser, session: DbSession) -> AgentOut:
    """Set extension, phone URI, lines, languages and level (only the fields given)."""
    user = _user(session, user_id)
    given = body.model_fields_set
    changes = ProfileChanges(
        extension=body.extension,
        clear_extension="extension" in given and body.extension is None,
        phone_uri=body.phone_uri,
        clear_phone_uri="phone_uri" in given and body.phone_uri is None,
        lines=body.lines,
        languages=body.languages,
        level=body.level,
    )
    try:
        profile = configure_agent(session, user.id, changes, by=admin)
    except AgentError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return _out(user, profile, utcnow())


@router.get("/api/agents/{user_id}/states", response_model=list[StateLogOut])
def state_history(
    user_id: int,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    since: Annotated[datetime | None, Query(description="Default: midnight today")] = None,
    until: Annotated[datetime | None, Query(description="Default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_ROWS)] = 1000,
) -> list[StateLogOut]:
    """The agent's stays in a state overlapping the window, oldest first, with durations."""
    if user.role not in WATCHERS and user.id != user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only your own states, or a supervisor's")
    _user(session, user_id)
    now = utcnow()
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone (e.g. 2026-05-01T08:00:00+08:00)")
    start = since or day_start(now, settings.timezone)
    end = until or now
    if end <= start:
        raise HTTPException(422, "until must be after since")
    return [
        StateLogOut(
            id=row.id,
            state=row.state,
            reason=row.reason,
            call_id=row.call_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
            seconds=round(
                row.seconds if row.seconds is not None else seconds_in(row, row.started_at, now),
                3,
            ),
        )
        for row in state_log(session, [user_id], start, end, limit)
    ]
