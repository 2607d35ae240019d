"""Everything that changes an agent: their profile (extension, phone, skills) and their state.

Each function checks, writes the profile and its state log in the caller's transaction (so a
refused move stores nothing) and returns the profile. Nothing is published here: the caller
(the API, the ACD) publishes ``AgentStateChanged`` once its transaction is done.

Who may move an agent where:

- the agent (``by="agent"``): to offline, ready or not_ready (with one of the configured
  reasons), from offline, ready, not_ready or wrap_up; never while ringing or on a call;
- the system (``by="system"``, the ACD): ready → ringing (an offer), ringing/ready/not_ready/
  wrap_up → on_call, on_call → wrap_up, back to ready, not_ready with reason ``missed`` (offers
  left unanswered), and offline from anything but a call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.agents.config import MISSED, QueueConfig
from tingyin.audit.actions import record_audit
from tingyin.bus.events import AgentStateChanged, utcnow
from tingyin.store.models import AGENT_LINES, AGENT_STATES, AgentProfile, AgentStateLog, User

By = Literal["agent", "system"]

AGENT_TARGETS = frozenset({"offline", "ready", "not_ready"})
AGENT_FROM = frozenset({"offline", "ready", "not_ready", "wrap_up"})
# The system's moves: target → the states it may come from.
SYSTEM_FROM: dict[str, frozenset[str]] = {
    "ringing": frozenset({"ready"}),
    "on_call": frozenset({"ringing", "ready", "not_ready", "wrap_up"}),
    "wrap_up": frozenset({"on_call"}),
    "ready": frozenset(AGENT_STATES),
    "not_ready": frozenset({"ringing", "ready", "wrap_up"}),
    "offline": frozenset({"offline", "ready", "not_ready", "ringing", "wrap_up"}),
}
# States that belong to a call: they keep the call's id on the profile.
CALL_STATES = frozenset({"ringing", "on_call", "wrap_up"})

EXTENSION = re.compile(r"^[0-9]{2,16}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_URI = 255
MAX_LEVEL = 5


class AgentError(Exception):
    """A refused request: ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AgentError(404, f"no user {user_id}")
    return user


def ensure_profile(session: Session, user: User, *, now: datetime | None = None) -> AgentProfile:
    """The user's agent profile, created (offline, with its first log row) on first use."""
    profile = session.get(AgentProfile, user.id)
    if profile is not None:
        return profile
    now = now or utcnow()
    profile = AgentProfile(
        user_id=user.id,
        lines=["customer"],
        languages=["zh"],
        level=1,
        state="offline",
        state_reason="",
        state_since=now,
        missed_offers=0,
    )
    session.add(profile)
    session.add(AgentStateLog(user_id=user.id, state="offline", reason="", started_at=now))
    session.flush()
    return profile


def _locked_profile(session: Session, user_id: int, now: datetime) -> AgentProfile:
    """The profile, locked for this transaction on PostgreSQL (two offers cannot both win)."""
    query = (
        select(AgentProfile)
        .where(AgentProfile.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    profile = session.scalar(query)
    return (
        profile
        if profile is not None
        else ensure_profile(session, _user(session, user_id), now=now)
    )


def _check(config: QueueConfig, current: str, state: str, reason: str, by: By) -> None:
    if state not in AGENT_STATES:
        raise AgentError(422, f"unknown state {state!r} (known: {', '.join(AGENT_STATES)})")
    if by == "agent":
        if state not in AGENT_TARGETS:
            raise AgentError(409, f"an agent cannot set {state} themselves: the system does")
        if current not in AGENT_FROM:
            raise AgentError(409, f"cannot change state while {current}: finish the call first")
        if state == "not_ready":
            if config.reason(reason) is None:
                codes = ", ".join(config.reason_codes)
                raise AgentError(422, f"unknown not-ready reason {reason!r} (choose: {codes})")
        elif reason:
            raise AgentError(422, "a reason goes only with not_ready")
        return
    if current not in SYSTEM_FROM[state]:
        raise AgentError(409, f"the system cannot move an agent from {current} to {state}")
    if state == "not_ready" and reason != MISSED and config.reason(reason) is None:
        raise AgentError(422, f"unknown not-ready reason {reason!r}")


def set_state(
    session: Session,
    config: QueueConfig,
    user_id: int,
    state: str,
    *,
    reason: str = "",
    now: datetime,
    by: By = "agent",
    call_id: str | None = None,
) -> AgentProfile:
    """Move the agent to ``state``: close the open log row, open the next, update the profile.

    The same state and reason again changes nothing (no new log row). ``call_id`` goes with
    ringing, on_call and wrap_up (kept from the previous call state when not given) and is
    cleared by the other states. Raises AgentError: 404 unknown user, 409 a refused move,
    422 an unknown state or reason.
    """
    profile = _locked_profile(session, user_id, now)
    current = profile.state
    call = (call_id or profile.current_call_id) if state in CALL_STATES else None
    same = (current, profile.state_reason, profile.current_call_id) == (state, reason, call)
    if not (same and by == "system"):  # the system repeating itself is not refused
        _check(config, current, state, reason, by)
    if same:
        return profile

    open_rows = session.scalars(
        select(AgentStateLog).where(
            AgentStateLog.user_id == user_id, AgentStateLog.ended_at.is_(None)
        )
    ).all()
    for row in open_rows:
        row.ended_at = max(now, row.started_at)
        row.seconds = (row.ended_at - row.started_at).total_seconds()
    session.add(
        AgentStateLog(user_id=user_id, state=state, reason=reason, call_id=call, started_at=now)
    )

    profile.state = state
    profile.state_reason = reason
    profile.state_since = now
    profile.current_call_id = call
    if state == "ready":
        profile.idle_since = now
        if by == "agent":
            profile.missed_offers = 0  # they are back: the count starts again
    elif state == "on_call":
        profile.missed_offers = 0
    session.flush()
    return profile


def record_missed_offer(
    session: Session, config: QueueConfig, user_id: int, now: datetime
) -> AgentProfile:
    """An offer rang out unanswered: count it; at ``max_missed_offers`` in a row the agent goes
    not_ready (reason ``missed``), else a ringing agent goes back to ready (and to the end of
    the idle line)."""
    profile = _locked_profile(session, user_id, now)
    profile.missed_offers += 1
    session.flush()
    if profile.missed_offers >= config.agents.max_missed_offers:
        if profile.state in SYSTEM_FROM["not_ready"]:
            return set_state(
                session, config, user_id, "not_ready", reason=MISSED, now=now, by="system"
            )
    elif profile.state == "ringing":
        return set_state(session, config, user_id, "ready", now=now, by="system")
    return profile


def state_event(user: User, profile: AgentProfile) -> AgentStateChanged:
    """The event for the agent's state as it is now: the caller publishes it after its change."""
    return AgentStateChanged(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        state=profile.state,
        reason=profile.state_reason,
        since=profile.state_since,
        call_id=profile.current_call_id or "",
    )


def ready_agents(
    session: Session, line: str, language: str = "zh", min_level: int = 1
) -> list[AgentProfile]:
    """Ready agents of active users who take ``line`` in ``language`` at ``min_level`` or
    above, longest idle first (ties: the lower user id)."""
    query = (
        select(AgentProfile)
        .join(User, User.id == AgentProfile.user_id)
        .where(
            AgentProfile.state == "ready",
            AgentProfile.level >= min_level,
            User.active,
        )
        .order_by(AgentProfile.idle_since.asc(), AgentProfile.user_id.asc())
    )
    # Skills are short JSON lists: matched here, the same on SQLite and PostgreSQL.
    return [
        p
        for p in session.scalars(query)
        if line in (p.lines or []) and language in (p.languages or [])
    ]


# -- the profile an admin sets ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ProfileChanges:
    """The fields to change; ``None`` leaves one as it is (``clear_*`` empties it)."""

    extension: str | None = None
    clear_extension: bool = False
    phone_uri: str | None = None
    clear_phone_uri: bool = False
    lines: Sequence[str] | None = None
    languages: Sequence[str] | None = None
    level: int | None = None


def _checked(changes: ProfileChanges) -> dict[str, object]:
    out: dict[str, object] = {}
    if changes.clear_extension:
        out["extension"] = None
    elif changes.extension is not None:
        if not EXTENSION.match(changes.extension):
            raise AgentError(422, f"extension {changes.extension!r}: 2–16 digits")
        out["extension"] = changes.extension
    if changes.clear_phone_uri:
        out["phone_uri"] = None
    elif changes.phone_uri is not None:
        uri = changes.phone_uri.strip()
        softphone = uri == "browser"  # answers in the desk page (tingyin.softphone)
        if not softphone and (
            not uri.startswith("sip:") or len(uri) > MAX_URI or len(uri) < 5 or " " in uri
        ):
            raise AgentError(
                422, f'phone_uri must be "browser" or a sip: URI of at most {MAX_URI} characters'
            )
        out["phone_uri"] = uri
    if changes.lines is not None:
        lines = list(dict.fromkeys(changes.lines))
        unknown = [x for x in lines if x not in AGENT_LINES]
        if unknown or not lines:
            raise AgentError(
                422, f"lines: one or more of {', '.join(AGENT_LINES)} (got {list(changes.lines)})"
            )
        out["lines"] = lines
    if changes.languages is not None:
        languages = list(dict.fromkeys(changes.languages))
        if not languages or not all(LANGUAGE.match(x) for x in languages):
            raise AgentError(422, f"languages: codes like zh, en, yue (got {languages})")
        out["languages"] = languages
    if changes.level is not None:
        if not 1 <= changes.level <= MAX_LEVEL:
            raise AgentError(422, f"level must be 1–{MAX_LEVEL} (got {changes.level})")
        out["level"] = changes.level
    return out


def configure_agent(
    session: Session,
    user_id: int,
    changes: ProfileChanges,
    *,
    by: User | None = None,
    now: datetime | None = None,
) -> AgentProfile:
    """Set an agent's extension, phone URI, lines, languages or level (audited).

    Raises AgentError: 404 unknown user, 409 an extension another agent has, 422 bad values.
    """
    user = _user(session, user_id)
    fields = _checked(changes)
    profile = ensure_profile(session, user, now=now)
    extension = fields.get("extension")
    if extension is not None:
        holder = session.scalar(
            select(AgentProfile.user_id).where(
                AgentProfile.extension == extension, AgentProfile.user_id != user_id
            )
        )
        if holder is not None:
            raise AgentError(409, f"extension {extension} belongs to another agent")
    for name, value in fields.items():
        setattr(profile, name, value)
    session.flush()
    record_audit(session, by, "agent.profile", "user", str(user_id), dict(fields))
    return profile
