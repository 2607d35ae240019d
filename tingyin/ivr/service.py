"""The IVR in the hub: every inbound call walks the menu from the moment it is answered.

A call is attached to ``CallControl`` when it rings (so no key pressed right after the answer
is lost), its walk starts once answered, and ends with the call. When the caller is queued the
screen pop gets the IVR path (``ScreenPopService`` listens for ``CallQueued``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from tingyin.bus import EventBus
from tingyin.bus.events import CallRinging, TranscriptFinal
from tingyin.ivr.actions import HubIvrActions
from tingyin.ivr.menu import Menu
from tingyin.ivr.session import IvrSession, QueuePlace
from tingyin.telephony.control import CallControl, CallHandle

log = logging.getLogger(__name__)

ANSWER_WAIT_S = 120.0


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
        bus.subscribe(CallRinging, self._on_ringing)
        bus.subscribe(TranscriptFinal, self._on_words)

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
        handle = self.control.attach(event.call_id, event.worker)
        task = asyncio.get_running_loop().create_task(self._walk(handle, event.caller))
        self._tasks.add(task)
        self._walks[event.call_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._walks.pop(event.call_id, None))

    def release(self, call_id: str) -> None:
        """An agent has the caller: the walk (waiting on hold music by now) is over."""
        task = self._walks.get(call_id)
        if task is not None:
            task.cancel()

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
            session.place_in_queue = self._place
            self.sessions[handle.call_id] = session
            await session.run()
        finally:
            self.sessions.pop(handle.call_id, None)
            self.control.release(handle)
            self.actions.forget(handle.call_id)
