"""The live events a team-restricted supervisor or QA user receives on ``/ws/events``.

With ``listening.restrict_to_team`` the REST views show only the watcher's teams' agents and
their calls (``permissions.team_members``); this is the same rule for the event stream, one
connection at a time. ``TeamFilter`` is sans-I/O: the socket feeds it every event its role may
see, in bus order, and sends what it returns. It learns which agent is on which call from the
events that connect them (``AgentStateChanged`` with a ``call_id``, ``AgentLeg``), so a call's
transcript, monitor legs and alerts stop once the call is known to be another team's agent's.

- An event naming agents (``agent_id``, ``user_id``, ``from_agent``, ``by_user``) passes when
  one of them is in the team; naming only others, it is dropped.
- Any other event of a call passes unless the call's agents, the last time it had any, were
  all outside the team. A call nobody has taken yet (ringing, IVR, queued) stays visible.
- The queue's own events (``CallQueued``, ``QueueLeft`` with another team's agent blanked,
  ``CallEnded``, ``CallFailed``) always pass: the room reloads its queue figures on them, and
  they carry no words of the call.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    AsrOverloaded,
    CallEnded,
    CallEvent,
    CallFailed,
    CallQueued,
    Event,
    QueueLeft,
)
from tingyin.config.settings import Settings
from tingyin.listening.permissions import team_members
from tingyin.store.models import AgentProfile, User

# The room's roles that the restriction narrows: admins never are, and an agent's own socket
# is not the room's (it keeps what its role sees).
TEAM_ROLES = ("supervisor", "qa")
AGENT_FIELDS = ("agent_id", "user_id", "from_agent", "by_user")  # user ids an event names
LEFT_LEG = ("ended", "failed")
MAX_LIVE_CALLS = 4096  # calls whose end never came are forgotten, oldest first
MAX_ENDED_CALLS = 1024  # post-call events (a transcript re-run) still find the verdict


@dataclass(frozen=True)
class RoomTeam:
    """A restricted watcher's team, read when the socket opens."""

    member_ids: frozenset[int]
    on_calls: tuple[tuple[int, str], ...] = ()  # (agent, call) per the agents' profiles now


@dataclass
class _Call:
    agents: set[int] = field(default_factory=set)
    hidden: bool = False  # its agents, the last time it had any, were all outside the team


class TeamFilter:
    """One connection's filter. Holds events back until ``start`` says whose they may be."""

    def __init__(self, *, max_live: int = MAX_LIVE_CALLS, max_ended: int = MAX_ENDED_CALLS) -> None:
        self._started = False
        self._team: frozenset[int] | None = None
        self._held: list[Event] = []  # while the team is read: only the socket's first moments
        self._calls: dict[str, _Call] = {}  # insertion order: the oldest is evicted first
        self._agent_call: dict[int, str] = {}
        self._ended: OrderedDict[str, bool] = OrderedDict()  # call → hidden
        self._max_live, self._max_ended = max_live, max_ended

    def start(self, team: RoomTeam | None) -> list[Event]:
        """Begin filtering for ``team`` (None: unrestricted, everything passes); returns the
        events held back meanwhile that pass."""
        self._started = True
        if team is not None:
            self._team = team.member_ids
            for agent, call_id in team.on_calls:
                self._join(agent, call_id)
        held, self._held = self._held, []
        return [kept for event in held if (kept := self.admit(event)) is not None]

    @property
    def tracked_calls(self) -> int:
        return len(self._calls) + len(self._ended)

    def admit(self, event: Event) -> Event | None:
        """The event to send (maybe with another team's agent blanked), or None to drop it."""
        if not self._started:
            self._held.append(event)
            return None
        if self._team is None:
            return event
        self._learn(event)
        return self._decide(event, self._team)

    # -- what the events say about who is on which call ---------------------------------------
    def _learn(self, event: Event) -> None:
        if isinstance(event, AgentStateChanged):
            # call_id goes with ringing, on_call and wrap_up; any other state clears it.
            if event.call_id:
                self._join(event.user_id, event.call_id)
            else:
                self._leave(event.user_id)
        elif isinstance(event, AgentLeg) and event.agent_id:
            if event.state in LEFT_LEG:
                self._leave(event.agent_id, event.call_id)
            else:
                self._join(event.agent_id, event.call_id)
        elif isinstance(event, CallEnded | CallFailed):
            self._end(event.call_id)

    def _join(self, agent: int, call_id: str) -> None:
        if call_id in self._ended:
            return  # wrap-up after the end: the verdict is kept, nothing live to follow
        previous = self._agent_call.get(agent)
        if previous is not None and previous != call_id:
            self._leave(agent, previous)
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call()
            if len(self._calls) > self._max_live:
                self._forget(next(iter(self._calls)))
        call.agents.add(agent)
        self._agent_call[agent] = call_id
        assert self._team is not None
        call.hidden = self._team.isdisjoint(call.agents)

    def _leave(self, agent: int, call_id: str | None = None) -> None:
        if call_id is None or self._agent_call.get(agent) == call_id:
            call_id = self._agent_call.pop(agent, call_id)
        call = self._calls.get(call_id) if call_id is not None else None
        if call is None:
            return
        call.agents.discard(agent)
        if call.agents:  # left empty, the call keeps its verdict (a transfer to the queue)
            assert self._team is not None
            call.hidden = self._team.isdisjoint(call.agents)

    def _end(self, call_id: str) -> None:
        call = self._forget(call_id)
        self._ended[call_id] = call.hidden if call is not None else self._ended.get(call_id, False)
        self._ended.move_to_end(call_id)
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

    def _forget(self, call_id: str) -> _Call | None:
        call = self._calls.pop(call_id, None)
        for agent in call.agents if call is not None else ():
            if self._agent_call.get(agent) == call_id:
                del self._agent_call[agent]
        return call

    # -- what passes ---------------------------------------------------------------------------
    def _decide(self, event: Event, team: frozenset[int]) -> Event | None:
        named = {int(getattr(event, name, 0) or 0) for name in AGENT_FIELDS} - {0}
        if isinstance(event, QueueLeft):  # the queue figures, not whose call it became
            return event if not named or named & team else dataclasses.replace(event, agent_id=0)
        if isinstance(event, CallQueued | CallEnded | CallFailed):
            return event
        if named:
            return event if named & team else None
        call_id = _call_of(event)
        return None if call_id is not None and self._hidden(call_id) else event

    def _hidden(self, call_id: str) -> bool:
        call = self._calls.get(call_id)
        return call.hidden if call is not None else self._ended.get(call_id, False)


def _call_of(event: Event) -> str | None:
    """The call an event is part of (DeskMirror and AgentStateChanged go by their agent)."""
    return event.call_id if isinstance(event, CallEvent | AsrOverloaded) else None


def room_team(session: Session, user: User, settings: Settings) -> RoomTeam | None:
    """The watcher's team as user ids and who is on which call now; None when unrestricted.
    Raises KpiFileError when the team file is broken."""
    members = team_members(user, settings)
    if members is None:
        return None
    ids = frozenset(session.scalars(select(User.id).where(User.username.in_(members))))
    rows = session.execute(
        select(AgentProfile.user_id, AgentProfile.current_call_id).where(
            AgentProfile.current_call_id.is_not(None)
        )
    )
    return RoomTeam(ids, tuple((agent, call) for agent, call in rows if call))
