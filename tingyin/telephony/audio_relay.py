"""Live call audio from the media workers to whoever listens (supervisors now, ASR later).

A worker sends a call's audio only while someone here holds a stream of it: the first listener
switches the worker's stream on (a ``stream`` command), the last one to leave switches it off.
So idle calls cost the IPC nothing, and a hundred listeners on one call cost the worker one
stream. Each listener has a bounded, drop-oldest queue: a slow one never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded, CallFailed, WorkerExited
from tingyin.telephony.ipc import AudioHandler

log = logging.getLogger(__name__)

Chunk = tuple[bytes, bytes]  # (caller PCM, other side PCM), 16-bit 8 kHz mono, equal lengths
QUEUE_CHUNKS = 50  # about 5 s of audio at the workers' 100 ms batches


class AudioStream:
    """One listener's view of one call: ``await get()`` until it returns None (call over)."""

    def __init__(self, call_id: str, size: int = QUEUE_CHUNKS) -> None:
        self.call_id = call_id
        self._queue: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, chunk: Chunk | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(chunk)

    async def get(self) -> Chunk | None:
        return await self._queue.get()


class AudioRelay:
    def __init__(
        self,
        bus: EventBus,
        send_command: Callable[[int, dict[str, Any]], Awaitable[bool]],
        worker_of: Callable[[str], int | None],
    ) -> None:
        self._send_command = send_command
        self._worker_of = worker_of
        self._streams: dict[str, set[AudioStream]] = {}
        self._workers: dict[str, int] = {}
        self._taps: list[AudioHandler] = []
        bus.subscribe(CallEnded, self._call_over)
        bus.subscribe(CallFailed, self._call_over)
        bus.subscribe(WorkerExited, self._worker_gone)

    async def open(self, call_id: str) -> AudioStream | None:
        """A stream of a call in progress, or None if no worker holds that call now."""
        worker = self._worker_of(call_id)
        if worker is None:
            return None
        stream = AudioStream(call_id)
        listeners = self._streams.setdefault(call_id, set())
        listeners.add(stream)
        if len(listeners) == 1:
            self._workers[call_id] = worker
            if not await self._switch(call_id, on=True):
                await self.close(stream)
                return None
        return stream

    async def close(self, stream: AudioStream) -> None:
        listeners = self._streams.get(stream.call_id)
        if listeners is None or stream not in listeners:
            return
        listeners.discard(stream)
        if not listeners:
            del self._streams[stream.call_id]
            await self._switch(stream.call_id, on=False)
            self._workers.pop(stream.call_id, None)

    def listeners(self, call_id: str) -> int:
        return len(self._streams.get(call_id, ()))

    def add_tap(self, tap: AudioHandler) -> None:
        """Also hand every frame of every streamed call to ``tap`` (live transcription)."""
        self._taps.append(tap)

    def on_audio(self, call_id: str, offset: int, left: bytes, right: bytes) -> None:
        """From the IPC listener, on the event loop."""
        for tap in self._taps:
            tap(call_id, offset, left, right)
        for stream in self._streams.get(call_id, ()):
            stream.offer((left, right))

    async def _switch(self, call_id: str, *, on: bool) -> bool:
        worker = self._workers.get(call_id)
        if worker is None:
            return False
        command = {"command": "stream", "call_id": call_id, "on": on}
        return await self._send_command(worker, command)

    def _end(self, call_id: str) -> None:
        self._workers.pop(call_id, None)
        for stream in self._streams.pop(call_id, set()):
            stream.offer(None)

    async def _call_over(self, event: CallEnded | CallFailed) -> None:
        self._end(event.call_id)

    async def _worker_gone(self, event: WorkerExited) -> None:
        for call_id in event.active_calls:
            self._end(call_id)
