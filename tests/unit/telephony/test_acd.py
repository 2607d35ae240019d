"""The ACD's routing on the real event bus: who is served first, which agent is offered the
call, what an unanswered offer, an answer and a hang-up in the queue do, and where a waiting
caller stands. The agents' store is a small in-memory directory (the store adapter has its own
tests and runs in tests/integration/test_agent_calls.py); commands go to a recording stand-in
for the media worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallEnded,
    CallerContextReady,
    CallQueued,
    Event,
    QueueLeft,
)
from tingyin.ivr.session import QueuePlace
from tingyin.telephony.acd import Acd, Offerable, QueueRules, Waiting, next_in_line, pick_agent

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
CUSTOMER = QueueRules(name="customer")


class Directory:
    """Agents in memory: state per agent id; the ACD's moves are recorded."""

    def __init__(self, ready: list[Offerable]) -> None:
        self.agents = {a.agent_id: a for a in ready}
        self.state = {a.agent_id: "ready" for a in ready}
        self.moves: list[tuple[str, int]] = []

    def _to(self, agent_id: int, state: str) -> AgentStateChanged:
        self.state[agent_id] = state
        self.moves.append((state, agent_id))
        return AgentStateChanged(user_id=agent_id, username=f"a{agent_id}", display_name="",
                                 state=state)  # fmt: skip

    def ready(self, rules: QueueRules) -> list[Offerable]:
        return [a for i, a in self.agents.items() if self.state[i] == "ready"]

    def ringing(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self._to(agent_id, "ringing") if self.state[agent_id] == "ready" else None

    def talking(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self._to(agent_id, "on_call")

    def missed(self, agent_id: int) -> AgentStateChanged | None:
        return self._to(agent_id, "not_ready")

    def back_to_ready(self, agent_id: int) -> AgentStateChanged | None:
        return self._to(agent_id, "ready")

    def wrap_up(self, agent_id: int) -> AgentStateChanged | None:
        return self._to(agent_id, "wrap_up")

    def wrap_up_over(self, agent_id: int) -> AgentStateChanged | None:
        return self._to(agent_id, "ready")

    def urgent_ticket(self, ticket_numbers: tuple[str, ...]) -> bool:
        return "261123000018" in ticket_numbers


def test_priority_first_then_the_longest_wait() -> None:
    a = Waiting("a", CUSTOMER, T0, priority=0)
    b = Waiting("b", CUSTOMER, T0 + timedelta(seconds=5), priority=10)
    c = Waiting("c", CUSTOMER, T0 - timedelta(seconds=5), priority=0)
    assert [w.call_id for w in next_in_line([a, b, c])] == ["b", "c", "a"]


def test_the_longest_idle_agent_with_a_phone_not_yet_tried() -> None:
    agents = [
        Offerable(1, "sip:1@x", T0),
        Offerable(2, "sip:2@x", T0 - timedelta(minutes=5)),
        Offerable(3, "", T0 - timedelta(minutes=9)),  # no phone: cannot be rung
    ]
    assert pick_agent(agents, set()) == agents[1]
    assert pick_agent(agents, {2}) == agents[0]
    assert pick_agent(agents, {1, 2}) is None


def test_a_waiting_callers_place_is_said_naturally() -> None:
    assert QueuePlace(2, 170).sentence() == "您前面还有两位客户在等待，预计等待三分钟，请您稍候。"


async def _route(events_in: list[Event], agents: list[Offerable]) -> tuple[list[Event], Any]:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    sent: list[dict[str, Any]] = []

    async def send(worker: int, command: dict[str, Any]) -> bool:
        sent.append(command | {"worker": worker})
        return True

    directory = Directory(agents)
    acd = Acd(bus, directory, {"customer": CUSTOMER}, send, lambda _call: 1, ring_seconds=5)
    seen: list[Event] = []

    async def keep(event: Event) -> None:
        seen.append(event)

    bus.subscribe(Event, keep)
    for event in events_in:
        if isinstance(event, AgentLeg) and event.leg_id == "?":  # the leg of the last offer
            offer = next(c for c in reversed(sent) if c["command"] == "connect_agent")
            event = AgentLeg(call_id=event.call_id, leg_id=offer["leg_id"], state=event.state,
                             agent_id=offer["agent_id"], reason=event.reason)  # fmt: skip
        bus.publish(event)
        await bus.drain()
        await asyncio.sleep(0.01)
    await bus.stop()
    return seen, (sent, directory, acd)


def test_ring_no_answer_goes_to_the_next_agent_and_an_answer_ends_the_wait() -> None:
    agents = [Offerable(1, "sip:1@x", T0 - timedelta(minutes=9)), Offerable(2, "sip:2@x", T0)]
    steps: list[Event] = [
        CallQueued(call_id="c1", queue="customer", at=T0),
        AgentLeg(call_id="c1", leg_id="?", state="failed", reason="no-answer"),
        AgentLeg(call_id="c1", leg_id="?", state="answered"),
    ]
    seen, (sent, directory, _acd) = asyncio.run(_route(steps, agents))
    offers = [(c["agent_id"], c["worker"], c["ring_seconds"]) for c in sent]
    assert offers == [(1, 1, 5), (2, 1, 5)]
    assert directory.moves == [("ringing", 1), ("not_ready", 1), ("ringing", 2), ("on_call", 2)]
    left = [e for e in seen if isinstance(e, QueueLeft)]
    assert [(e.outcome, e.agent_id) for e in left] == [("answered", 2)]


def test_hanging_up_in_the_queue_is_abandoned() -> None:
    steps: list[Event] = [
        CallQueued(call_id="c2", queue="customer", at=T0),
        CallEnded(call_id="c2", reason="hangup", at=T0 + timedelta(seconds=42)),
    ]
    seen, (sent, _directory, acd) = asyncio.run(_route(steps, []))
    assert sent == [] and acd.waiting == {}
    (left,) = [e for e in seen if isinstance(e, QueueLeft)]
    assert (left.outcome, left.waited_seconds) == ("abandoned", 42.0)


def test_vip_and_urgent_tickets_go_first_and_places_are_counted() -> None:
    vip = CallerContextReady(call_id="v", caller="138****0001", number_kind="mobile",
                             caller_kind="customer", flags=("vip",))  # fmt: skip
    urgent = CallerContextReady(call_id="u", caller="138****0002", number_kind="mobile",
                                caller_kind="customer", open_tickets=("261123000018",))  # fmt: skip
    steps: list[Event] = [
        vip, urgent,
        CallQueued(call_id="plain", queue="customer", at=T0),
        CallQueued(call_id="v", queue="customer", at=T0 + timedelta(seconds=1)),
        CallQueued(call_id="u", queue="customer", at=T0 + timedelta(seconds=2)),
    ]  # fmt: skip
    _seen, (_sent, _directory, acd) = asyncio.run(_route(steps, []))
    order = [w.call_id for w in next_in_line(list(acd.waiting.values()))]
    assert order == ["u", "v", "plain"]
    assert acd.place_of("u")[0] == 0 and acd.place_of("plain")[:2] == (2, 180.0)
