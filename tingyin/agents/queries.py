"""Reads: the agents and their profiles, the state log of a window, time spent per state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tingyin.store.models import AgentProfile, AgentStateLog, User

MAX_HISTORY_ROWS = 5000


def day_start(now: datetime, timezone: str) -> datetime:
    """Midnight of ``now``'s day in ``timezone``, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def agents(session: Session) -> list[tuple[User, AgentProfile | None]]:
    """Every agent-role user and any other user with a profile, by user name."""
    query = (
        select(User, AgentProfile)
        .outerjoin(AgentProfile, AgentProfile.user_id == User.id)
        .where(or_(User.role == "agent", AgentProfile.user_id.is_not(None)))
        .order_by(User.username)
    )
    return [(user, profile) for user, profile in session.execute(query)]


def state_log(
    session: Session,
    user_ids: Iterable[int],
    since: datetime,
    until: datetime,
    limit: int = MAX_HISTORY_ROWS,
) -> list[AgentStateLog]:
    """The stays in a state that overlap [since, until), oldest first."""
    ids = list(user_ids)
    if not ids:
        return []
    query = (
        select(AgentStateLog)
        .where(
            AgentStateLog.user_id.in_(ids),
            AgentStateLog.started_at < until,
            or_(AgentStateLog.ended_at.is_(None), AgentStateLog.ended_at > since),
        )
        .order_by(AgentStateLog.started_at, AgentStateLog.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def seconds_in(row: AgentStateLog, since: datetime, until: datetime) -> float:
    """How much of [since, until) the stay covers (an open stay runs until ``until``)."""
    start = max(row.started_at, since)
    end = min(row.ended_at or until, until)
    return max(0.0, (end - start).total_seconds())


def totals_by_state(
    session: Session, user_ids: Iterable[int], since: datetime, until: datetime
) -> dict[int, dict[str, float]]:
    """Seconds per state in [since, until), per user."""
    totals: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in state_log(session, user_ids, since, until, limit=1_000_000):
        totals[row.user_id][row.state] += seconds_in(row, since, until)
    return {user: {s: round(v, 1) for s, v in states.items()} for user, states in totals.items()}
