"""The alert engine on the bus: events in, ``CallAlert`` events out, timers ticked every second.

Runs once, in the hub (web-only nodes would each fire the same alerts). The hub's CDR writer
stores each ``CallAlert`` with its call (call_events, kind "alert"), where QA's review queue and
``GET /api/room`` find them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentStateChanged,
    CallAlert,
    CallEvent,
    Event,
    TicketSlaAlert,
    utcnow,
)
from tingyin.listening.alerts import Alert, AlertEngine
from tingyin.listening.rules import AlertRules
from tingyin.store import Database
from tingyin.store.models import Ticket, TicketCall

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


class ListeningService:
    def __init__(
        self,
        bus: EventBus,
        rules: AlertRules,
        db: Database | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.bus = bus
        self.engine = AlertEngine(rules)
        self.db = db
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.fired = 0
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = [
            bus.subscribe(CallEvent, self._on_event),
            bus.subscribe(AgentStateChanged, self._on_event),
            bus.subscribe(TicketSlaAlert, self._on_event),
        ]

    def start(self) -> None:
        """Tick the timers (started by itself on the first event if not called)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._ticks(), name="alerts")

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, CallAlert):
            return
        self.start()
        if isinstance(event, TicketSlaAlert) and self.db is not None:
            for call_id in await asyncio.to_thread(self._calls_of_ticket, event.number):
                self.engine.link_ticket(call_id, event.number)
        self._publish(self.engine.feed(event, now=self.clock()))

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                self._publish(self.engine.tick(now=self.clock()))
            except Exception:
                log.exception("alert timers failed; going on")

    def _publish(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.fired += 1
            self.bus.publish(
                CallAlert(
                    call_id=alert.call_id, rule=alert.rule, kind=alert.kind,
                    severity=alert.severity, at_seconds=alert.at_seconds, text=alert.text,
                    agent_id=alert.agent_id,
                )
            )  # fmt: skip

    def _calls_of_ticket(self, number: str) -> list[str]:
        """The calls a ticket was linked to (opened from the call, or attached to it since)."""
        assert self.db is not None
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(TicketCall.call_id)
                    .join(Ticket, Ticket.id == TicketCall.ticket_id)
                    .where(Ticket.number == number)
                )
            )
