"""The screen pop at ring time: CallRinging in, CallerContextReady out, within milliseconds.

Lookups run elsewhere (``lookups.py``: processes in the hub, threads in tests) so the event
loop never waits and the lookup never waits for the hub's GIL. A failed lookup still pops: the
agent gets the number and the error.
While the call goes on, what the caller says is matched against the food-safety words; a hit
re-publishes the context with the urgent suggestion (``revision`` + 1).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallEnded,
    CallerContextReady,
    CallFailed,
    CallQueued,
    CallRinging,
    TranscriptFinal,
    utcnow,
)
from tingyin.phones import normalise
from tingyin.screenpop.engine import flagged_words
from tingyin.screenpop.lookups import Lookups
from tingyin.screenpop.policy import Policy

log = logging.getLogger(__name__)

HEARD_LIMIT = 2000  # characters of the caller's words kept per call for re-evaluation


class ScreenPopService:
    def __init__(self, lookups: Lookups, bus: EventBus, policy: Policy) -> None:
        self.lookups = lookups
        self.bus = bus
        self.policy = policy
        self._tasks: set[asyncio.Task[None]] = set()
        self._latest: dict[str, CallerContextReady] = {}
        self._heard: dict[str, str] = {}
        bus.subscribe(CallRinging, self._on_ringing)
        bus.subscribe(TranscriptFinal, self._on_final)
        bus.subscribe(CallQueued, self._on_queued)
        bus.subscribe(CallEnded, self._on_gone)
        bus.subscribe(CallFailed, self._on_gone)

    async def start(self) -> None:
        await self.lookups.start()

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self.lookups.stop()

    # Bus handlers must not block: each starts a task and returns.
    async def _on_ringing(self, event: CallRinging) -> None:
        if event.direction == "inbound":  # our own calls out (surveys) need no agent's screen
            self._spawn(self._pop(event))

    async def _on_final(self, event: TranscriptFinal) -> None:
        if event.leg != "caller" or event.call_id not in self._latest:
            return
        heard = (self._heard.get(event.call_id, "") + " " + event.text)[-HEARD_LIMIT:]
        self._heard[event.call_id] = heard
        if flagged_words(event.text, self.policy.words.food_safety):
            self._spawn(self._reconsider(event.call_id, heard))

    async def _on_queued(self, event: CallQueued) -> None:
        """The agent who takes the call sees how the caller got there (the IVR path)."""
        current = self._latest.get(event.call_id)
        if current is None or current.ivr_path == event.path:
            return
        updated = replace(current, ivr_path=event.path, revision=current.revision + 1, at=utcnow())
        self._latest[event.call_id] = updated
        self.bus.publish(updated)

    async def _on_gone(self, event: CallEnded | CallFailed) -> None:
        self._latest.pop(event.call_id, None)
        self._heard.pop(event.call_id, None)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pop(self, event: CallRinging) -> None:
        try:
            context = await self.lookups.for_call(event.call_id, event.caller, utcnow())
        except Exception as exc:  # the source is down or sent nonsense: pop what we know
            log.warning("screen pop for call %s failed: %s", event.call_id, exc)
            number = normalise(event.caller)
            context = CallerContextReady(
                call_id=event.call_id,
                caller=number.masked,
                number_kind=number.kind,
                caller_kind="unknown",
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        self._latest[event.call_id] = context
        self.bus.publish(context)

    async def _reconsider(self, call_id: str, heard: str) -> None:
        current = self._latest.get(call_id)
        if current is None or current.error:
            return
        try:
            suggestion = await self.lookups.rebuild(current, utcnow(), heard)
        except Exception as exc:
            log.warning("screen pop of call %s not updated: %s", call_id, exc)
            return
        if suggestion is None or suggestion == current.suggestion:
            return
        updated = replace(
            current, suggestion=suggestion, revision=current.revision + 1, at=utcnow()
        )
        if call_id in self._latest:  # not ended meanwhile
            self._latest[call_id] = updated
            self.bus.publish(updated)
