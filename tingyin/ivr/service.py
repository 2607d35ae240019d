"""The IVR in the hub: every inbound call walks the menu from the moment it is answered.

A call is attached to ``CallControl`` when it rings (so no key pressed right after the answer
is lost), its walk starts once answered, and ends with the call. When the caller is queued the
screen pop gets the IVR path (``ScreenPopService`` listens for ``CallQueued``).

The IVR is also what a waiting caller hears outside the walk: hold music again after a blind
transfer (``hold``), and the greeting and music of a callback the ACD places (``call_back``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded, CallFailed, CallRinging, TranscriptFinal
from tingyin.ivr.actions import HubIvrActions
from tingyin.ivr.menu import Menu
from tingyin.ivr.session import CALLBACK_GREETING, IvrSession, QueueLine, QueuePlace, hold
from tingyin.privacy import mask_number
from tingyin.telephony.control import CallControl, CallGone, CallHandle, OutboundError

log = logging.getLogger(__name__)

ANSWER_WAIT_S = 120.0
CALLBACK_RING_S = 30.0  # a callback rings the customer this long


class IvrService:
    def __init__(
        self,
        bus: EventBus,
        control: CallControl,
        menu: Menu,
        actions: HubIvrActions,
        menu_dir: Path,
    ) -> None:
        self.bus = bus
        self.control = control
        self.menu = menu
        self.actions = actions
        self.menu_dir = menu_dir
        self._tasks: set[asyncio.Task[None]] = set()
        self._warm: asyncio.Task[None] | None = None
        self.sessions: dict[str, IvrSession] = {}
        self._walks: dict[str, asyncio.Task[None]] = {}
        # The ACD's answer to "where does this caller stand" (ahead, expected s, every s).
        self.queue_place: Callable[[str], tuple[int, float, float] | None] | None = None
        # The ACD's callbacks: seconds until one is offered, and taking one (None: none).
        self.callback_in: Callable[[str], float | None] | None = None
        self.take_callback: Callable[[str, str], bool] | None = None
        self._callers: dict[str, str] = {}  # call → the caller's number, while it lasts
        self._pending_holds: set[str] = set()  # transferred while their walk still unwinds
        bus.subscribe(CallRinging, self._on_ringing)
        bus.subscribe(TranscriptFinal, self._on_words)
        bus.subscribe(CallEnded, self._on_gone)
        bus.subscribe(CallFailed, self._on_gone)

    async def start(self) -> None:
        self._warm = asyncio.get_running_loop().create_task(self._warm_prompts(), name="ivr-warm")

    async def warmed(self) -> None:
        if self._warm is not None:
            await asyncio.gather(self._warm, return_exceptions=True)

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._warm] if self._warm else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _warm_prompts(self) -> None:
        try:
            await self.actions.warm()
        except Exception:  # espeak missing or the disk full: prompts are made on demand
            log.exception("IVR prompts could not be prepared ahead")

    async def _on_ringing(self, event: CallRinging) -> None:
        if event.direction != "inbound":
            return
        self._callers[event.call_id] = event.caller
        handle = self.control.attach(event.call_id, event.worker)
        self._run(event.call_id, self._walk(handle, event.caller))

    async def _on_gone(self, event: CallEnded | CallFailed) -> None:
        self._callers.pop(event.call_id, None)

    def _run(self, call_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        self._walks[call_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: self._forget_walk(call_id, done))

    def _forget_walk(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self._walks.get(call_id) is task:
            self._walks.pop(call_id)

    def release(self, call_id: str) -> None:
        """An agent has the caller: the walk (waiting on hold music by now) is over."""
        self._pending_holds.discard(call_id)
        task = self._walks.get(call_id)
        if task is not None:
            task.cancel()

    def hold(self, call_id: str, worker: int) -> None:
        """The caller waits in a queue again (a blind transfer let their agent go): music and
        their place until the next agent answers (``release``) or they hang up."""
        walk = self._walks.get(call_id)
        if walk is not None and not walk.cancelling():
            return  # already waiting with music
        if walk is not None:  # a transfer right after the answer: that walk is still unwinding
            self._pending_holds.add(call_id)
            walk.add_done_callback(lambda _done: self._hold_if_pending(call_id, worker))
            return
        handle = self.control.attach(call_id, worker)
        handle.answered.set()
        self._run(call_id, self._hold(handle, self._callers.get(call_id, "")))

    def _hold_if_pending(self, call_id: str, worker: int) -> None:
        if call_id in self._pending_holds:  # (an agent who answered meanwhile needs no music)
            self._pending_holds.discard(call_id)
            self.hold(call_id, worker)

    async def call_back(self, number: str) -> str | None:
        """The ACD calls a customer back: the new call's id once they answered (greeted, then
        hold music until the agent held for them answers), None when they were not reached."""
        try:
            handle = await self.control.originate(number)
        except OutboundError as exc:
            log.warning("callback to %s not placed: %s", mask_number(number), exc)
            return None
        try:  # told who calls before the agent is rung (music after it, while it rings)
            if await handle.wait_answered(CALLBACK_RING_S):
                await handle.play(await self.actions.prompt(CALLBACK_GREETING), barge=False)
                self._run(handle.call_id, self._hold(handle, number, callback=False))
                return handle.call_id
        except CallGone:  # hung up during the greeting
            pass
        self.control.release(handle)
        return None

    async def _hold(self, handle: CallHandle, caller: str, *, callback: bool = True) -> None:
        line = self._line()
        if not callback:  # called back already: not offered another one
            line.callback_in = None
        try:
            await hold(handle, self.actions, line, caller=caller)
        finally:
            if self.control.handles.get(handle.call_id) is handle:
                self.control.release(handle)

    def _line(self) -> QueueLine:
        return QueueLine(self._place, self.callback_in, self.take_callback)

    async def _on_words(self, event: TranscriptFinal) -> None:
        """A caller may say 人工 (or a menu's words) instead of pressing: the same as the key."""
        session = self.sessions.get(event.call_id)
        if session is None or event.leg != "caller":
            return
        key = session.heard(event.text)
        if key is not None:
            await session.handle.press(key)

    def _place(self, call_id: str) -> QueuePlace | None:
        place = self.queue_place(call_id) if self.queue_place is not None else None
        return QueuePlace(*place) if place is not None else None

    async def _walk(self, handle: CallHandle, caller: str) -> None:
        try:
            if not await handle.wait_answered(ANSWER_WAIT_S):
                return
            session = IvrSession(
                self.menu, handle, self.actions, self.bus.publish,
                caller=caller, menu_dir=self.menu_dir,
            )  # fmt: skip
            session.queue_line = self._line()
            self.sessions[handle.call_id] = session
            await session.run()
        finally:
            self.sessions.pop(handle.call_id, None)
            if self.control.handles.get(handle.call_id) is handle:
                self.control.release(handle)
            self.actions.forget(handle.call_id)
