"""Callbacks: a caller who has waited ``max_wait_seconds`` may hang up and be called back.

The IVR makes the offer (press 1) while the caller is on hold; ``take`` turns their place in
the queue into a callback entry, which keeps its place (the same ``since`` and priority) and is
counted as ``QueueLeft(outcome="callback")``. When the entry comes first and an agent is free,
the agent is *held* (the ACD rings nobody else on them) and the *customer* is dialled through
the outbound route (``dial_back``, the IVR's, which greets them and plays hold music). Only once
the customer has answered is the call offered to the held agent, ahead of every other caller.

Why the customer first: callbacks often go unanswered, and an agent rung first would sit on a
line that rings out. Holding the agent only in the ACD's memory (their state stays ``ready``)
means nobody else's call takes them while the customer's phone rings, and a customer who
answers talks to someone within one ring. Every attempt is a ``CallbackPlaced`` event (a
``callback`` row in the CDR of the call that asked); an unanswered callback is tried again after
``CALLBACK_RETRY_S``, ``CALLBACK_ATTEMPTS`` times in all.

Callback entries live in the ACD's memory; the CDR has what it takes to rebuild them, so a hub
that restarts takes back the callbacks still owed (``pending_callbacks``, asked for within
``RESTORE_HOURS``): same place (the time they were queued), same number, the attempts so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tingyin.bus.events import CallbackPlaced, QueueLeft, utcnow

if TYPE_CHECKING:
    from tingyin.telephony.acd import Acd, Offerable, Waiting

log = logging.getLogger(__name__)

# A number → the new call's id once the customer answered, None when they were not reached.
DialBack = Callable[[str], Awaitable[str | None]]
CALLBACK_PRIORITY = 1000  # the customer is on the line again because we called: first in line
CALLBACK_ATTEMPTS = 2
CALLBACK_RETRY_S = 120.0
RESTORE_HOURS = 12  # a callback asked for longer ago than this is not taken back at a restart


@dataclass(frozen=True)
class PendingCallback:
    """A callback owed, as the CDR tells it (for a hub that restarted)."""

    call_id: str
    queue: str
    number: str
    since: datetime  # when the caller was queued: their place
    attempts: int = 0


def owed_callbacks(
    calls: dict[str, list[tuple[datetime, str, dict[str, object]]]], numbers: dict[str, str]
) -> list[PendingCallback]:
    """From each call's ``queued`` / ``queue_left`` / ``callback`` events (in time order), the
    callbacks asked for and neither answered nor given up."""
    owed = []
    for call_id, events in calls.items():
        queued_at: datetime | None = None
        queue, asked, answered, attempts = "", False, False, 0
        for at, kind, data in events:
            if kind == "queued" and queued_at is None:
                queued_at = at
            elif kind == "queue_left" and data.get("outcome") == "callback":
                asked, queue = True, str(data.get("queue") or "")
                waited = data.get("waited_seconds")
                if queued_at is None and isinstance(waited, int | float):
                    queued_at = at - timedelta(seconds=float(waited))
            elif kind == "callback":
                attempts += 1
                answered = answered or data.get("outcome") == "answered"
        number = numbers.get(call_id, "")
        if asked and not answered and attempts < CALLBACK_ATTEMPTS and number:
            since = queued_at or events[0][0]
            owed.append(PendingCallback(call_id, queue, number, since, attempts))
    return owed


@dataclass
class Callback:
    number: str
    caller_gone: bool = False  # dialled only once the call they asked on has ended
    attempts: int = 0
    not_before: datetime | None = None  # after an unanswered attempt

    def due(self, now: datetime) -> bool:
        return self.caller_gone and (self.not_before is None or now >= self.not_before)


def callback_due(waiting: Waiting, now: datetime) -> float | None:
    """Seconds until this caller is offered a callback (0: now), or None: not for them."""
    rules = waiting.queue
    if not rules.offer_callback or waiting.callback is not None or waiting.offer is not None:
        return None
    return max(0.0, rules.max_wait_seconds - (now - waiting.since).total_seconds())


class CallbackDesk:
    """The ACD's callback half: the offer's timing, taking one, and placing it."""

    def __init__(self, acd: Acd) -> None:
        self.acd = acd
        self._tasks: set[asyncio.Task[None]] = set()

    def due_in(self, call_id: str) -> float | None:
        waiting = self.acd.waiting.get(call_id)
        if waiting is None or self.acd.dial_back is None:
            return None
        return callback_due(waiting, utcnow())

    def take(self, call_id: str, number: str) -> bool:
        """The caller pressed for a callback: keep their place; False when it cannot be (an
        agent's phone is ringing for them right now, no outbound route, no number)."""
        waiting = self.acd.waiting.get(call_id)
        digits = number.lstrip("+")
        if waiting is None or waiting.offer is not None or waiting.callback is not None:
            return False
        if self.acd.dial_back is None or not digits.isdigit():
            return False
        waiting.callback = Callback(number)
        waited = (utcnow() - waiting.since).total_seconds()
        left = QueueLeft(call_id=call_id, queue=waiting.queue.name, outcome="callback",
                         waited_seconds=round(waited, 3))  # fmt: skip
        self.acd.bus.publish(left)
        log.info("call %s: callback asked for after %.0f s waiting", call_id, waited)
        return True

    def place(self, waiting: Waiting, agent: Offerable) -> None:
        """Hold ``agent`` for this callback and dial the customer (in the background)."""
        waiting.offer = ("callback", agent.agent_id)  # the ACD offers this agent to nobody else
        task = asyncio.get_running_loop().create_task(self._dial(waiting, agent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _dial(self, waiting: Waiting, agent: Offerable) -> None:
        acd, callback = self.acd, waiting.callback
        assert callback is not None and acd.dial_back is not None
        callback.attempts += 1
        try:
            new_id = await acd.dial_back(callback.number)
        except Exception:
            log.exception("call %s: callback could not be placed", waiting.call_id)
            new_id = None
        outcome = "answered" if new_id else "no-answer"
        acd.bus.publish(CallbackPlaced(call_id=waiting.call_id, queue=waiting.queue.name,
                                       callback_call_id=new_id or "", outcome=outcome,
                                       attempt=callback.attempts))  # fmt: skip
        async with acd.lock:
            acd.waiting.pop(waiting.call_id, None)
            if new_id is None:
                if callback.attempts < CALLBACK_ATTEMPTS:  # again later, still in its place
                    waiting.offer = None
                    callback.not_before = utcnow() + timedelta(seconds=CALLBACK_RETRY_S)
                    acd.waiting[waiting.call_id] = waiting
                else:
                    log.warning("call %s: callback not answered %d times; given up",
                                waiting.call_id, callback.attempts)  # fmt: skip
                offered = False
            else:  # the customer is on the line: the held agent first, then anyone
                fresh = replace(waiting, call_id=new_id, since=utcnow(),
                                priority=CALLBACK_PRIORITY, tried=set(), offer=None,
                                only_agent=0, callback=None)  # fmt: skip
                acd.waiting[new_id] = fresh
                offered = await acd.offer(fresh, agent)
        if not offered:
            await acd.dispatch()
