"""Calls the hub drives itself: dial out, play prompts, read keys, hang up.

The media workers only carry out commands (``originate``, ``play``, ``stop_prompt``,
``hangup``) and report events; the dialogue — a follow-up survey now, the IVR later — runs
here in asyncio, so a slow database or a bug in a menu never stalls a SIP loop. A call's events
reach its ``CallHandle``; awaiting a prompt or a key raises ``CallGone`` once the far end hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallFailed,
    DtmfReceived,
    PromptFinished,
)
from tingyin.config.settings import OutboundSettings
from tingyin.privacy import mask_number

log = logging.getLogger(__name__)

T = TypeVar("T")
SendCommand = Callable[[int, dict[str, Any]], Awaitable[bool]]
PickWorker = Callable[[], int | None]


class OutboundError(Exception):
    """The call could not be placed at all (outbound off, no free worker)."""


class CallGone(Exception):
    """The call ended while the dialogue was waiting on it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CallHandle:
    call_id: str
    worker: int
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str = ""
    digits: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    prompts: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    _control: CallControl | None = None

    async def wait_answered(self, timeout: float) -> bool:
        """True once answered; False when it ended unanswered or rang ``timeout`` s (then cut)."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self.answered, self.ended)]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self.answered.is_set():
            return True
        if not self.ended.is_set():
            self.end_reason = "no-answer"
            await self.hangup()
        return False

    async def play(self, path: Path, *, barge: bool = True) -> bool:
        """Play a prompt to the end (False) or until a key cuts it off (True)."""
        assert self._control is not None
        prompt_id = uuid.uuid4().hex[:12]
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.prompts[prompt_id] = done
        command = {"command": "play", "call_id": self.call_id, "path": str(path)}
        await self._control.send(self, command | {"prompt_id": prompt_id, "barge": barge})
        try:
            return await self._until_gone(done)
        finally:
            self.prompts.pop(prompt_id, None)

    async def read_digit(self, timeout: float) -> str | None:
        """The next key pressed (including one pressed during the last prompt), or None."""
        if not self.digits.empty():
            return self.digits.get_nowait()
        try:
            return await asyncio.wait_for(self._until_gone(self.digits.get()), timeout)
        except TimeoutError:
            return None

    async def press(self, key: str) -> None:
        """A key that did not come as DTMF (a word the caller said): queued, and the prompt
        playing now stops as a pressed key would stop it."""
        self.digits.put_nowait(key)
        if self.prompts and self._control is not None:
            await self._control.send(self, {"command": "stop_prompt", "call_id": self.call_id})

    def clear_digits(self) -> None:
        while not self.digits.empty():
            self.digits.get_nowait()

    async def hangup(self) -> None:
        if self._control is not None and not self.ended.is_set():
            await self._control.send(self, {"command": "hangup", "call_id": self.call_id})

    async def wait_ended(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), timeout)
        return self.ended.is_set()

    async def _until_gone(self, work: Awaitable[T]) -> T:
        if self.ended.is_set():
            if asyncio.iscoroutine(work):
                work.close()
            raise CallGone(self.end_reason)
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not task.done():
            task.cancel()
            raise CallGone(self.end_reason)
        return task.result()


class CallControl:
    def __init__(
        self,
        bus: EventBus,
        send_command: SendCommand,
        pick_worker: PickWorker,
        outbound: OutboundSettings,
    ) -> None:
        self._send = send_command
        self._pick_worker = pick_worker
        self.outbound = outbound
        self.handles: dict[str, CallHandle] = {}
        bus.subscribe(CallEvent, self._on_event)

    @property
    def enabled(self) -> bool:
        return bool(self.outbound.dial_uri)

    def can_dial(self) -> bool:
        """Outbound is configured and some worker has a free line right now."""
        return self.enabled and self._pick_worker() is not None

    async def originate(self, number: str, call_id: str | None = None) -> CallHandle:
        """Dial ``number`` through the configured route; events follow on the handle."""
        if not self.enabled:
            raise OutboundError("outbound calls are off ([outbound] dial_uri is empty)")
        worker = self._pick_worker()
        if worker is None:
            raise OutboundError("no media worker has a free line")
        handle = CallHandle(call_id=call_id or uuid.uuid4().hex, worker=worker, _control=self)
        self.handles[handle.call_id] = handle
        command = {
            "command": "originate",
            "call_id": handle.call_id,
            "uri": self.outbound.uri_for(number),
            "caller": self.outbound.caller_id,
        }
        if not await self._send(worker, command):
            self.handles.pop(handle.call_id, None)
            raise OutboundError(f"media worker {worker} is not connected")
        log.info("dialling %s as call %s on worker %d", mask_number(number), handle.call_id, worker)
        return handle

    def attach(self, call_id: str, worker: int) -> CallHandle:
        """Drive a call that came in (the IVR): its events reach the handle from now on."""
        handle = CallHandle(call_id=call_id, worker=worker, _control=self)
        self.handles[call_id] = handle
        return handle

    async def send(self, handle: CallHandle, command: dict[str, Any]) -> None:
        if not await self._send(handle.worker, command):
            self._gone(handle, "worker-lost")

    def release(self, handle: CallHandle) -> None:
        self.handles.pop(handle.call_id, None)

    async def _on_event(self, event: CallEvent) -> None:
        handle = self.handles.get(event.call_id)
        if handle is None:
            return
        if isinstance(event, CallAnswered):
            handle.answered.set()
        elif isinstance(event, DtmfReceived):
            handle.digits.put_nowait(event.digit)
        elif isinstance(event, PromptFinished):
            done = handle.prompts.get(event.prompt_id)
            if done is not None and not done.done():
                done.set_result(event.interrupted)
        elif isinstance(event, CallEnded | CallFailed):
            self._gone(handle, event.reason)

    def _gone(self, handle: CallHandle, reason: str) -> None:
        if not handle.ended.is_set():
            handle.end_reason = handle.end_reason or reason
            handle.ended.set()
