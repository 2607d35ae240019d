"""In-process event bus bridging pjsip/worker threads and the asyncio loop.

``publish`` may be called from any thread: events are handed to the loop with
``call_soon_threadsafe`` and delivered there, in order, to every subscriber of the event's
class (or a base class). Handlers are async and must not block; a failing handler is logged and
the others still run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tingyin.bus.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread: int | None = None
        self._handlers: list[tuple[type[Event], Callable[[Event], Awaitable[None]]]] = []
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> Callable[[], None]:
        entry = (event_type, handler)
        self._handlers.append(entry)  # type: ignore[arg-type]

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        if threading.get_ident() == self._loop_thread:
            self._queue.put_nowait(event)
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._task = self._loop.create_task(self._deliver(), name="event-bus")

    async def stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every event published so far has been handled."""
        await self._queue.join()

    async def _deliver(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                for event_type, handler in list(self._handlers):
                    if isinstance(event, event_type):
                        try:
                            await handler(event)
                        except Exception:
                            log.exception("event handler %r failed on %s", handler, event)
            finally:
                self._queue.task_done()
