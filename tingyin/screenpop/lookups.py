"""Where screen-pop lookups run: threads (tests, small installs) or processes (``tingyin serve``).

A lookup is a burst of short queries, each of which gives up the GIL; in the hub every
re-acquire can wait behind the CDR writer or the event loop. Measured: 4 ms alone, ~10 ms in a
lightly loaded hub, 255 ms beside one busy Python thread. Processes of their own (each with its
own database connections and cache) take the ring-time path out of the hub's GIL.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Protocol

from tingyin.bus.context import Suggestion
from tingyin.bus.events import CallerContextReady
from tingyin.config import Settings
from tingyin.screenpop.context import ContextBuilder

log = logging.getLogger(__name__)


class Lookups(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def for_call(self, call_id: str, caller: str, now: datetime) -> CallerContextReady: ...

    async def rebuild(
        self, context: CallerContextReady, now: datetime, heard: str
    ) -> Suggestion | None: ...


class ThreadLookups:
    """Lookups on a thread pool of this process."""

    def __init__(self, builder: ContextBuilder, threads: int = 4) -> None:
        self.builder = builder
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="screenpop")

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def for_call(self, call_id: str, caller: str, now: datetime) -> CallerContextReady:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.builder.for_call, call_id, caller, now)

    async def rebuild(
        self, context: CallerContextReady, now: datetime, heard: str
    ) -> Suggestion | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.builder.rebuild, context, now, heard)


# -- process pool -------------------------------------------------------------------------------
_builder: ContextBuilder | None = None  # one per lookup process, made by _init_process


def _init_process(settings: Settings) -> None:
    global _builder
    from tingyin.logsetup import configure_logging
    from tingyin.screenpop.wiring import context_builder
    from tingyin.store import Database

    configure_logging(settings.log_level, "screenpop")
    _builder = context_builder(settings, Database(settings.resolved_database_url))


def _warm() -> int:
    return os.getpid()


def _for_call(call_id: str, caller: str, now: datetime) -> CallerContextReady:
    assert _builder is not None
    return _builder.for_call(call_id, caller, now)


def _rebuild(context: CallerContextReady, now: datetime, heard: str) -> Suggestion | None:
    assert _builder is not None
    return _builder.rebuild(context, now, heard)


class ProcessLookups:
    """Lookups in ``processes`` worker processes; a dead pool is replaced, and the call that
    found it dead is looked up here instead (``fallback``), so no call goes without a pop."""

    def __init__(self, settings: Settings, fallback: ContextBuilder, processes: int = 2) -> None:
        self.settings = settings
        self.fallback = fallback
        self.processes = processes
        self._pool: Executor = self._new_pool()

    def _new_pool(self) -> Executor:
        # forkserver: the workers do not inherit the hub's threads, sockets or event loop.
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_process,
            initargs=(self.settings,),
        )

    async def start(self) -> None:
        """Start every process now, so the first call does not wait for imports."""
        loop = asyncio.get_running_loop()
        pids = await asyncio.gather(
            *(loop.run_in_executor(self._pool, _warm) for _ in range(self.processes * 2))
        )
        log.info("screen-pop lookups in processes %s", sorted(set(pids)))

    async def stop(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)

    async def for_call(self, call_id: str, caller: str, now: datetime) -> CallerContextReady:
        loop, pool = asyncio.get_running_loop(), self._pool
        try:
            return await loop.run_in_executor(pool, _for_call, call_id, caller, now)
        except BrokenProcessPool:
            self._replace(pool)
            return await asyncio.to_thread(self.fallback.for_call, call_id, caller, now)

    async def rebuild(
        self, context: CallerContextReady, now: datetime, heard: str
    ) -> Suggestion | None:
        loop, pool = asyncio.get_running_loop(), self._pool
        try:
            return await loop.run_in_executor(pool, _rebuild, context, now, heard)
        except BrokenProcessPool:
            self._replace(pool)
            return await asyncio.to_thread(self.fallback.rebuild, context, now, heard)

    def _replace(self, broken: Executor) -> None:
        if self._pool is not broken:
            return  # another call replaced it already
        log.error("a screen-pop lookup process died; starting new ones")
        self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)
