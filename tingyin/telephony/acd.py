"""The ACD: waiting callers meet ready agents.

A caller the IVR hands over (``CallQueued``) waits in its queue, ordered by priority (VIP, an
urgent open ticket) and then by how long they have waited. Whenever a caller waits and an agent
is free, the longest-idle ready agent with the queue's line (skill), language and level is
offered the call: their phone rings (``connect_agent`` to the customer's worker, which bridges
the two once answered). An offer not answered within ``ring_seconds`` goes to the next agent;
an agent who lets ``max_missed_offers`` ring out in a row is set not ready. After a call the
agent gets ``wrap_up_seconds`` before the next one. Callers who hang up while waiting are
counted as abandoned (``QueueLeft``). A caller handed on by a blind transfer waits again (the
IVR plays hold music again: ``on_requeued``). Transfers of every kind (to a queue, an agent,
an outside number; attended after consulting a colleague) and 3-way calls are the
``TransferDesk``'s (``telephony.acd_transfers``).

Callbacks (``telephony.callbacks``): after ``max_wait_seconds`` the IVR offers one; a caller who
takes it hangs up but keeps their place. When that place comes up and an agent is free, the
agent is held for them and the customer is dialled; once they answer, the call is offered to
the held agent first. Waiting callers, callbacks included, are kept in memory only.

The agents' states live in the store (``tingyin.agents``); this class keeps only who is waiting
and which offers are ringing, and re-reads the ready agents on each dispatch.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallEnded,
    CallerContextReady,
    CallFailed,
    CallQueued,
    QueueLeft,
    utcnow,
)
from tingyin.telephony.acd_transfers import TransferDesk
from tingyin.telephony.callbacks import (
    RESTORE_HOURS,
    Callback,
    CallbackDesk,
    DialBack,
    PendingCallback,
)

log = logging.getLogger(__name__)

SendCommand = Callable[[int, dict[str, Any]], Awaitable[bool]]
WorkerOf = Callable[[str], int | None]
TICK_S = 1.0


@dataclass(frozen=True)
class QueueRules:
    name: str
    line: str = "customer"
    language: str = "zh"
    min_level: int = 1
    priority_vip: int = 10
    priority_urgent_ticket: int = 20
    announce_every_seconds: float = 30.0  # 0: never
    max_wait_seconds: float = 300.0  # then a callback is offered (with offer_callback)
    offer_callback: bool = False


@dataclass(frozen=True)
class Offerable:
    """A ready agent who could take a call now."""

    agent_id: int
    phone_uri: str
    idle_since: datetime | None


class AgentDirectory(Protocol):
    """The agents' side, in the store (``tingyin.agents``); called in a thread."""

    def ready(self, rules: QueueRules) -> list[Offerable]: ...
    def ringing(self, agent_id: int, call_id: str) -> AgentStateChanged | None: ...
    def talking(self, agent_id: int, call_id: str) -> AgentStateChanged | None: ...
    def missed(self, agent_id: int) -> AgentStateChanged | None: ...
    def back_to_ready(self, agent_id: int) -> AgentStateChanged | None: ...
    def wrap_up(self, agent_id: int) -> AgentStateChanged | None: ...
    def wrap_up_over(self, agent_id: int) -> AgentStateChanged | None: ...
    def urgent_ticket(self, ticket_numbers: tuple[str, ...]) -> bool: ...


@dataclass
class Waiting:
    call_id: str
    queue: QueueRules
    since: datetime
    priority: int = 0
    tried: set[int] = field(default_factory=set)
    offer: tuple[str, int] | None = None  # (leg id, agent id) while an agent's phone rings
    only_agent: int = 0  # a transfer to one agent: wait for them, nobody else
    callback: Callback | None = None  # asked to be called back (and hung up)


def next_in_line(waiting: list[Waiting]) -> list[Waiting]:
    """Callers in the order they should be served: priority first, then longest waiting."""
    return sorted(waiting, key=lambda w: (-w.priority, w.since))


def pick_agent(candidates: list[Offerable], exclude: set[int]) -> Offerable | None:
    """The longest-idle candidate not excluded (tried for this call, or ringing for another)."""
    free = [c for c in candidates if c.agent_id not in exclude and c.phone_uri]
    if not free:
        return None
    return min(free, key=lambda c: (c.idle_since is not None, c.idle_since or utcnow()))


class Acd:
    def __init__(
        self,
        bus: EventBus,
        directory: AgentDirectory,
        queues: dict[str, QueueRules],
        send_command: SendCommand,
        worker_of: WorkerOf,
        *,
        ring_seconds: float = 15.0,
        wrap_up_seconds: float = 30.0,
        caller_id: str = "",
        on_answered: Callable[[str], None] | None = None,
        dial_uri: Callable[[str], str] | None = None,
        dial_back: DialBack | None = None,
    ) -> None:
        self.bus = bus
        self.directory = directory
        self.queues = queues
        self._send = send_command
        self._worker_of = worker_of
        self.ring_seconds = ring_seconds
        self.wrap_up_seconds = wrap_up_seconds
        self.caller_id = caller_id
        self.on_answered = on_answered  # the IVR stops its hold music
        self.dial_uri = dial_uri  # a number → the SIP URI that reaches it (outbound route)
        self.dial_back = dial_back  # calls a customer back; None: no callbacks offered
        self.on_requeued: Callable[[str, int], None] | None = None  # (call, worker): music again
        self.hold_music: Callable[[], Path] | None = None  # while consulting, or ringing out
        # Callbacks still owed per the CDR (asked for since then): taken back at start.
        self.owed_callbacks: Callable[[datetime], list[PendingCallback]] | None = None
        self.waiting: dict[str, Waiting] = {}
        self._pops: dict[str, CallerContextReady] = {}
        self._wrap_ups: dict[int, asyncio.TimerHandle] = {}
        self.lock = asyncio.Lock()
        self._recent_waits: deque[float] = deque(maxlen=20)
        self._task: asyncio.Task[None] | None = None
        self.callbacks = CallbackDesk(self)
        self.transfers = TransferDesk(self, send_command, worker_of)
        bus.subscribe(CallQueued, self._on_queued)
        bus.subscribe(CallerContextReady, self._on_pop)
        bus.subscribe(AgentLeg, self._on_leg)
        bus.subscribe(AgentStateChanged, self._on_agent)
        bus.subscribe(CallEnded, self._on_gone)
        bus.subscribe(CallFailed, self._on_gone)

    def place_of(self, call_id: str) -> tuple[int, float, float] | None:
        """(callers ahead in the same queue, expected wait in seconds, announce interval) for a
        waiting call; the wait from how long recent callers waited (60 s a head before any)."""
        me = self.waiting.get(call_id)
        if me is None or not me.queue.announce_every_seconds:
            return None
        line = [w for w in next_in_line(list(self.waiting.values())) if w.queue == me.queue]
        ahead = line.index(me)
        per_head = sum(self._recent_waits) / len(self._recent_waits) if self._recent_waits else 60
        return ahead, (ahead + 1) * per_head, me.queue.announce_every_seconds

    def callback_in(self, call_id: str) -> float | None:
        """Seconds until a waiting caller is offered a callback (0: now); None: not offered."""
        return self.callbacks.due_in(call_id)

    def take_callback(self, call_id: str, number: str) -> bool:
        """The caller asked to be called back at ``number`` (and hangs up): keep their place."""
        return self.callbacks.take(call_id, number)

    async def start(self) -> None:
        if self.owed_callbacks is not None and self.dial_back is not None:
            since = utcnow() - timedelta(hours=RESTORE_HOURS)
            for owed in await asyncio.to_thread(self.owed_callbacks, since):
                rules = self.queues.get(owed.queue) or next(iter(self.queues.values()))
                callback = Callback(owed.number, caller_gone=True, attempts=owed.attempts)
                self.waiting[owed.call_id] = Waiting(owed.call_id, rules, owed.since,
                                                     callback=callback)  # fmt: skip
            if self.waiting:
                log.info("%d callback(s) still owed taken back", len(self.waiting))
        self._task = asyncio.get_running_loop().create_task(self._tick(), name="acd")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for timer in self._wrap_ups.values():
            timer.cancel()
        await self.callbacks.stop()

    # -- events -----------------------------------------------------------------------------
    async def _on_pop(self, event: CallerContextReady) -> None:
        self._pops[event.call_id] = event

    async def _on_queued(self, event: CallQueued) -> None:
        pop = self._pops.get(event.call_id)
        rules = self._queue_for(event.queue, pop)
        priority = event.priority
        if pop is not None and "vip" in pop.flags:
            priority += rules.priority_vip
        if pop is not None and pop.open_tickets:
            urgent = await asyncio.to_thread(self.directory.urgent_ticket, pop.open_tickets)
            priority += rules.priority_urgent_ticket if urgent else 0
        self.waiting[event.call_id] = Waiting(event.call_id, rules, event.at, priority)
        await self.dispatch()

    async def _on_agent(self, event: AgentStateChanged) -> None:
        if event.state == "ready":
            await self.dispatch()

    async def _on_leg(self, event: AgentLeg) -> None:
        waiting = self.waiting.get(event.call_id)
        if event.state == "answered":
            if waiting is not None:
                self.waiting.pop(event.call_id, None)
                waited = (event.at - waiting.since).total_seconds()
                self._recent_waits.append(waited)
                self.bus.publish(QueueLeft(call_id=event.call_id, queue=waiting.queue.name,
                                           outcome="answered", waited_seconds=round(waited, 3),
                                           agent_id=event.agent_id))  # fmt: skip
            await self.move_agent(self.directory.talking, event.agent_id, event.call_id)
            if self.on_answered is not None:
                self.on_answered(event.call_id)
        elif event.state == "failed":
            if waiting is not None and waiting.offer and waiting.offer[0] == event.leg_id:
                waiting.offer = None
                waiting.tried.add(event.agent_id)
            if event.reason in ("no-answer", "busy") or event.reason.startswith("failed-4"):
                await self.move_agent(self.directory.missed, event.agent_id)
            else:
                await self.move_agent(self.directory.back_to_ready, event.agent_id)
            await self.dispatch()
        elif event.state == "ended":
            await self.move_agent(self.directory.wrap_up, event.agent_id)
            if self.transfers.released(event):  # a blind transfer: the caller waits again
                await self.dispatch()
            self.wrap_up_later(event.agent_id)

    def wrap_up_later(self, agent_id: int) -> None:
        loop = asyncio.get_running_loop()
        self._wrap_ups[agent_id] = loop.call_later(
            self.wrap_up_seconds, lambda: loop.create_task(self._wrap_up_over(agent_id))
        )

    async def _on_gone(self, event: CallEnded | CallFailed) -> None:
        self._pops.pop(event.call_id, None)
        self.transfers.forget(event.call_id)
        waiting = self.waiting.get(event.call_id)
        if waiting is not None and waiting.callback is not None:
            waiting.callback.caller_gone = True  # hung up to be called back: keeps the place
            await self.dispatch()
            return
        waiting = self.waiting.pop(event.call_id, None)
        if waiting is None:
            return
        waited = (event.at - waiting.since).total_seconds()
        left = QueueLeft(call_id=event.call_id, queue=waiting.queue.name, outcome="abandoned",
                         waited_seconds=round(waited, 3))  # fmt: skip
        self.bus.publish(left)
        # A ringing agent leg is hung up by the worker with the customer's call.

    # -- routing ----------------------------------------------------------------------------
    async def dispatch(self) -> None:
        """Offer every waiting caller (best first) to a free agent, while there are any."""
        async with self.lock:
            ringing = {w.offer[1] for w in self.waiting.values() if w.offer}
            now = utcnow()
            for waiting in next_in_line(list(self.waiting.values())):
                if waiting.offer is not None or waiting.call_id not in self.waiting:
                    continue
                if waiting.callback is not None and not waiting.callback.due(now):
                    continue
                candidates = await asyncio.to_thread(self.directory.ready, waiting.queue)
                if waiting.only_agent:
                    candidates = [c for c in candidates if c.agent_id == waiting.only_agent]
                agent = pick_agent(candidates, waiting.tried | ringing)
                if agent is None:
                    continue
                if waiting.callback is not None:
                    self.callbacks.place(waiting, agent)  # the customer is dialled first
                    ringing.add(agent.agent_id)
                elif await self.offer(waiting, agent):
                    ringing.add(agent.agent_id)

    async def offer(self, waiting: Waiting, agent: Offerable) -> bool:
        worker = self._worker_of(waiting.call_id)
        if worker is None:
            return False
        changed = await asyncio.to_thread(self.directory.ringing, agent.agent_id, waiting.call_id)
        if changed is None:  # became unavailable meanwhile
            return False
        self.bus.publish(changed)
        leg_id = uuid.uuid4().hex
        waiting.offer = (leg_id, agent.agent_id)
        command = {
            "command": "connect_agent", "call_id": waiting.call_id, "leg_id": leg_id,
            "uri": agent.phone_uri, "agent_id": agent.agent_id, "ring_seconds": self.ring_seconds,
            "caller": self.caller_id,
        }  # fmt: skip
        if not await self._send(worker, command):
            waiting.offer = None
            await self.move_agent(self.directory.back_to_ready, agent.agent_id)
            return False
        log.info("call %s offered to agent %d", waiting.call_id, agent.agent_id)
        return True

    async def _wrap_up_over(self, agent_id: int) -> None:
        self._wrap_ups.pop(agent_id, None)
        await self.move_agent(self.directory.wrap_up_over, agent_id)
        await self.dispatch()

    async def move_agent(self, change: Callable[..., AgentStateChanged | None], *args: Any) -> None:
        event = await asyncio.to_thread(change, *args)
        if event is not None:
            self.bus.publish(event)

    async def _tick(self) -> None:
        while True:  # agents made ready by hand or by wrap-up timers not seen as events
            await asyncio.sleep(TICK_S)
            if any(w.offer is None for w in self.waiting.values()):
                try:
                    await self.dispatch()
                except Exception:
                    log.exception("ACD dispatch failed")

    def _queue_for(self, name: str, pop: CallerContextReady | None) -> QueueRules:
        """Riders and merchants reach their own line when it exists; else the named queue."""
        if pop is not None and pop.caller_kind in ("rider", "merchant"):
            for rules in self.queues.values():
                if rules.line == pop.caller_kind:
                    return rules
        return self.queues.get(name) or next(iter(self.queues.values()))
