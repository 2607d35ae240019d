"""Who may monitor which call, and how (listen, whisper, barge): the one place that decides,
for the softphone's listen-in, the listening room and the SIP feature codes alike.

With ``listening.restrict_to_team`` on, a supervisor or QA user may monitor only calls whose
agent is in one of their teams. Teams are the KPI file's ``[teams]`` (team = usernames): staff
belong to a team by being listed in it beside its agents. Admins always may.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.config.settings import Settings
from tingyin.qa.performance import DEFAULT_KPI_FILE, KpiConfig, KpiFileError, load_kpi_config
from tingyin.store.models import AgentProfile, CallEventRow, User

MONITOR_MODES: dict[str, tuple[str, ...]] = {
    "listen": ("supervisor", "qa", "admin"),
    "whisper": ("supervisor", "admin"),
    "barge": ("supervisor", "admin"),
}
UNRESTRICTED_ROLES = ("admin",)
MAX_CALL_ID = 64


def monitor_refusal(
    db: Session, user: User, call_id: str, mode: str, settings: Settings
) -> str | None:
    """Why this user may not monitor this call in this mode, or None if they may."""
    if mode not in MONITOR_MODES:
        return "mode must be listen, whisper or barge"
    if user.role not in MONITOR_MODES[mode]:
        return f"your role may not {mode}"
    if not call_id or len(call_id) > MAX_CALL_ID:
        return "which call?"
    try:
        members = team_members(user, settings)
    except KpiFileError:
        return "the team list cannot be read; ask an admin"  # restricted: refuse, never open
    if members is None:
        return None
    if not members:
        return "you are in no team"
    usernames = db.scalars(select(User.username).where(User.id.in_(call_agent_ids(db, call_id))))
    if members.isdisjoint(usernames):
        return "this call's agent is not in your team"
    return None


def team_members(user: User, settings: Settings) -> frozenset[str] | None:
    """The usernames in the user's teams (theirs included), or None when the user may watch
    every agent (the restriction is off, or an admin). Raises KpiFileError for a broken file."""
    if not settings.listening.restrict_to_team or user.role in UNRESTRICTED_ROLES:
        return None
    teams = kpi_teams(settings.qa.kpi_file).teams
    return frozenset(name for names in teams.values() if user.username in names for name in names)


def kpi_teams(path: Path | None) -> KpiConfig:
    """The KPI file, reloaded when it changes (a monitor request must not read stale teams)."""
    path = path or DEFAULT_KPI_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # missing: load_kpi_config says so (a failed load is not cached)
    return _load(path, mtime)


@lru_cache(maxsize=8)
def _load(path: Path, mtime: int) -> KpiConfig:
    return load_kpi_config(path)


def call_agent_ids(db: Session, call_id: str) -> set[int]:
    """The agents on a call: whose profile names it (ringing, on the call, wrapping up), and
    whose agent leg on it was answered and has not ended (a SIP phone, a transfer's target)."""
    agents = set(
        db.scalars(select(AgentProfile.user_id).where(AgentProfile.current_call_id == call_id))
    )
    legs = db.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id == call_id, CallEventRow.kind == "agent_leg")
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    on_leg: dict[str, int] = {}
    for row in legs:
        leg, state = str(row.data.get("leg_id") or ""), row.data.get("state")
        agent = int(row.data.get("agent_id") or 0)
        if state == "answered" and agent:
            on_leg[leg] = agent
        elif state in ("ended", "failed"):
            on_leg.pop(leg, None)
    return agents | set(on_leg.values())
