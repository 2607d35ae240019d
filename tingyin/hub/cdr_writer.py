"""Writes call events to the store on one thread, in arrival order, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tingyin.asr.actions import apply_transcript_event
from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallerContextReady,
    CallEvent,
    Event,
    TranscriptFinal,
    TranscriptLegStatus,
    TranscriptPartial,
    WorkerExited,
)
from tingyin.screenpop.actions import store_context
from tingyin.store import Database
from tingyin.store.models import Call
from tingyin.telephony.actions import apply_call_event, fail_open_calls
from tingyin.telephony.recording import repair_wav_header

log = logging.getLogger(__name__)


class CdrWriter:
    def __init__(self, db: Database, bus: EventBus, recordings_dir: Path) -> None:
        self.db = db
        self.recordings_dir = recordings_dir
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        # One thread: SQLite has one writer anyway, and order per call must be kept.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr")
        self._task: asyncio.Task[None] | None = None
        bus.subscribe(CallEvent, self._enqueue)
        bus.subscribe(WorkerExited, self._enqueue)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cdr-writer")

    async def stop(self) -> None:
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def _enqueue(self, event: Event) -> None:
        if not isinstance(event, TranscriptPartial):  # partials are for screens only
            self._queue.put_nowait(event)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            event = await self._queue.get()
            try:
                await loop.run_in_executor(self._executor, self._write, event)
            except Exception:
                log.exception("could not store %s", type(event).__name__)
            finally:
                self._queue.task_done()

    def _write(self, event: Event) -> None:
        if isinstance(event, WorkerExited):
            self._worker_died(event)
            return
        with self.db.session() as session:
            if isinstance(event, TranscriptFinal | TranscriptLegStatus):
                apply_transcript_event(session, event)
            elif isinstance(event, CallerContextReady):
                store_context(session, event)
            else:
                apply_call_event(session, event)

    def _worker_died(self, event: WorkerExited) -> None:
        reason = f"worker-{event.worker}-died"
        with self.db.session() as session:
            failed = fail_open_calls(session, event.worker, reason, event.at)
            for call_id in failed:
                call = session.get(Call, call_id)
                if call is None or not call.recording_path:
                    continue
                path = self.recordings_dir / call.recording_path
                try:
                    call.recording_seconds = round(repair_wav_header(path), 3)
                except (OSError, ValueError) as exc:
                    log.warning("recording of failed call %s not repaired: %s", call_id, exc)
        if failed:
            log.warning("worker %d died: %d call(s) marked failed", event.worker, len(failed))
