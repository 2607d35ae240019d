"""The ACD's routing on the real event bus: who is served first, which agent is offered the
call, what an unanswered offer, an answer and a hang-up in the queue do, and where a waiting
caller stands. The agents' store is a small in-memory directory (the store adapter has its own
tests and runs in tests/integration/test_agent_calls.py); commands go to a recording stand-in
for the media worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tingyin.agents.config import load_queue_config
from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallbackPlaced,
    CallEnded,
    CallerContextReady,
    CallQueued,
    CallRinging,
    Event,
    QueueLeft,
    utcnow,
)
from tingyin.ivr.session import QueuePlace
from tingyin.store import Database
from tingyin.telephony.acd import Acd, Offerable, QueueRules, Waiting, next_in_line, pick_agent
from tingyin.telephony.acd_directory import StoreDirectory
from tingyin.telephony.actions import apply_call_event
from tingyin.telephony.callbacks import CALLBACK_ATTEMPTS, CALLBACK_PRIORITY

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


PATIENT = QueueRules(name="customer", max_wait_seconds=60, offer_callback=True)


class Dialler:
    """The IVR's side of a callback: records the numbers dialled; ``answer`` says whether the
    customer picks up (then the new call's id)."""

    def __init__(self, answer: bool = True) -> None:
        self.dialled: list[str] = []
        self.answer = answer

    async def __call__(self, number: str) -> str | None:
        self.dialled.append(number)
        return f"back-{len(self.dialled)}" if self.answer else None


async def _callbacks(agents: list[Offerable], dialler: Dialler) -> tuple[Any, ...]:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    sent: list[dict[str, Any]] = []

    async def send(worker: int, command: dict[str, Any]) -> bool:
        sent.append(command)
        return True

    directory = Directory(agents)
    for agent in agents:
        directory.state[agent.agent_id] = "not_ready"
    acd = Acd(bus, directory, {"customer": PATIENT}, send, lambda c: None if "gone" in c else 1,
              dial_back=dialler)  # fmt: skip
    seen: list[Event] = []

    async def keep(event: Event) -> None:
        seen.append(event)

    bus.subscribe(Event, keep)
    return bus, acd, directory, sent, seen


async def _settle(bus: EventBus) -> None:
    for _ in range(3):
        await bus.drain()
        await asyncio.sleep(0.01)


def test_a_callback_keeps_its_place_and_the_customer_is_called_before_the_agent_rings() -> None:
    async def scenario() -> None:
        dialler = Dialler()
        bus, acd, directory, sent, seen = await _callbacks([Offerable(7, "sip:7@x", T0)], dialler)
        now = utcnow()
        for n, call_id in enumerate(("first", "gone-b", "third")):
            bus.publish(CallQueued(call_id=call_id, queue="customer",
                                   at=now - timedelta(seconds=90 - n)))  # fmt: skip
        await _settle(bus)
        # Waited 90 s of a 60 s maximum: offered now; a short wait would be offered later.
        assert acd.callback_in("gone-b") == 0.0
        assert acd.take_callback("gone-b", "anonymous") is False  # no number to call
        assert acd.take_callback("gone-b", "13900001234") is True
        assert acd.callback_in("gone-b") is None  # asked once: not offered again
        bus.publish(CallEnded(call_id="gone-b", reason="hangup"))  # the caller hangs up
        await _settle(bus)
        order = [w.call_id for w in next_in_line(list(acd.waiting.values()))]
        assert order == ["first", "gone-b", "third"]  # the place is kept
        assert acd.place_of("third")[0] == 2
        left = [(e.call_id, e.outcome) for e in seen if isinstance(e, QueueLeft)]
        assert left == [("gone-b", "callback")]  # not abandoned

        directory.state[7] = "ready"  # the first caller is served first
        bus.publish(AgentStateChanged(user_id=7, username="a7", display_name="", state="ready"))
        await _settle(bus)
        assert [(c["call_id"], c["agent_id"]) for c in sent] == [("first", 7)]
        assert dialler.dialled == []
        bus.publish(AgentLeg(call_id="first", leg_id=sent[0]["leg_id"], state="answered",
                             agent_id=7))  # fmt: skip
        bus.publish(AgentLeg(call_id="first", leg_id=sent[0]["leg_id"], state="ended",
                             agent_id=7, reason="agent-hangup"))  # fmt: skip
        await _settle(bus)
        directory.state[7] = "ready"  # wrap-up over: next is the callback, ahead of "third"
        bus.publish(AgentStateChanged(user_id=7, username="a7", display_name="", state="ready"))
        await _settle(bus)
        assert dialler.dialled == ["13900001234"]
        placed = [e for e in seen if isinstance(e, CallbackPlaced)]
        assert [(e.call_id, e.callback_call_id, e.outcome) for e in placed] == [
            ("gone-b", "back-1", "answered")
        ]
        # The customer answered: the agent held for them is rung for the new call.
        assert [(c["call_id"], c["agent_id"]) for c in sent[1:]] == [("back-1", 7)]
        assert acd.waiting["back-1"].priority == CALLBACK_PRIORITY
        assert set(acd.waiting) == {"back-1", "third"}
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_an_unanswered_callback_is_tried_again_later_and_not_while_an_agent_rings() -> None:
    async def scenario() -> None:
        dialler = Dialler(answer=False)
        bus, acd, directory, sent, seen = await _callbacks([Offerable(7, "sip:7@x", T0)], dialler)
        bus.publish(CallQueued(call_id="c", queue="customer", at=utcnow()))
        await _settle(bus)
        assert 59 < (acd.callback_in("c") or 0) <= 60  # not yet: after the maximum wait
        acd.waiting["c"].offer = ("leg", 9)  # an agent's phone rings for them right now
        assert acd.callback_in("c") is None and acd.take_callback("c", "13900001234") is False
        acd.waiting["c"].offer = None
        assert acd.take_callback("c", "13900001234") is True
        directory.state[7] = "ready"
        bus.publish(AgentStateChanged(user_id=7, username="a7", display_name="", state="ready"))
        await _settle(bus)
        assert dialler.dialled == []  # still on the line (the goodbye): not called yet
        bus.publish(CallEnded(call_id="c", reason="hangup"))
        await _settle(bus)
        assert dialler.dialled == ["13900001234"] and sent == []  # no answer: no agent rung
        callback = acd.waiting["c"].callback
        assert callback is not None and callback.not_before is not None
        assert acd.waiting["c"].offer is None
        await acd.dispatch()
        assert dialler.dialled == ["13900001234"]  # not again before the retry time
        placed = [(e.outcome, e.attempt) for e in seen if isinstance(e, CallbackPlaced)]
        assert placed == [("no-answer", 1)]
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_a_restarted_hub_takes_back_the_callbacks_still_owed(db: Database) -> None:
    """From the CDR: asked and not yet answered (one try so far) → owed, in its place; answered,
    or given up after the last try, or never asked → not."""
    asked_at = utcnow() - timedelta(minutes=10)
    stories: dict[str, list[Event]] = {
        "owed": [CallQueued(call_id="owed", queue="customer", at=asked_at),
                 QueueLeft(call_id="owed", queue="customer", outcome="callback",
                           waited_seconds=300, at=asked_at + timedelta(seconds=300)),
                 CallbackPlaced(call_id="owed", queue="customer", outcome="no-answer",
                                at=asked_at + timedelta(seconds=400))],
        "done": [CallQueued(call_id="done", queue="customer", at=asked_at),
                 QueueLeft(call_id="done", queue="customer", outcome="callback", at=asked_at),
                 CallbackPlaced(call_id="done", queue="customer", callback_call_id="x",
                                at=asked_at)],
        "gave-up": [QueueLeft(call_id="gave-up", queue="customer", outcome="callback",
                              at=asked_at),
                    *[CallbackPlaced(call_id="gave-up", queue="customer", outcome="no-answer",
                                     at=asked_at) for _ in range(CALLBACK_ATTEMPTS)]],
        "talked": [CallQueued(call_id="talked", queue="customer", at=asked_at),
                   QueueLeft(call_id="talked", queue="customer", outcome="answered",
                             agent_id=1, at=asked_at)],
    }  # fmt: skip
    with db.session() as session:
        for call_id, story in stories.items():
            ringing = CallRinging(call_id=call_id, sip_call_id="s", worker=0,
                                  caller="13900001234", dialed="4008001234")  # fmt: skip
            apply_call_event(session, ringing)
            for event in story:
                apply_call_event(session, event)
    config = load_queue_config()
    owed = StoreDirectory(db, config).pending_callbacks(utcnow() - timedelta(hours=1))
    assert [(p.call_id, p.number, p.attempts) for p in owed] == [("owed", "13900001234", 1)]
    assert abs((owed[0].since - asked_at).total_seconds()) < 0.01  # the place: when queued

    async def restart() -> dict[str, Waiting]:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()

        async def send(worker: int, command: dict[str, Any]) -> bool:
            return True

        acd = Acd(bus, Directory([]), {"customer": PATIENT}, send, lambda _c: None,
                  dial_back=Dialler())  # fmt: skip
        acd.owed_callbacks = StoreDirectory(db, config).pending_callbacks
        await acd.start()
        await acd.stop()
        await bus.stop()
        return acd.waiting

    waiting = asyncio.run(restart())
    callback = waiting["owed"].callback
    assert list(waiting) == ["owed"] and callback is not None
    assert (callback.number, callback.caller_gone, callback.attempts) == ("13900001234", True, 1)
