"""The SLA watch: wakes up, re-reads every open ticket's clocks, and announces each warning and
breach once, as it begins (``TicketSlaAlert`` on the bus; a breach asks for a supervisor).

``check(now)`` is the whole job, so tests drive it with their own clock; ``run`` calls it every
few seconds in the hub. Stored on the ticket: its worst state and next deadline, so an alert is
not repeated after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.bus import EventBus
from tingyin.bus.events import TicketSlaAlert, utcnow
from tingyin.store import Database
from tingyin.store.models import Ticket, TicketEvent
from tingyin.tickets.actions import SLA_RANK, clock_events
from tingyin.tickets.policy import PRIORITIES, TicketPolicy
from tingyin.tickets.sla import SlaClock, calendar_from

log = logging.getLogger(__name__)

ALERTING = ("warning", "breached")


class SlaWatch:
    def __init__(self, db: Database, policy: TicketPolicy, bus: EventBus | None = None) -> None:
        self.db = db
        self.policy = policy
        self.bus = bus
        self.calendar = calendar_from(policy.calendar)

    def check(self, now: datetime) -> list[TicketSlaAlert]:
        """Alerts for the tickets whose worst SLA state got worse since the last check."""
        alerts: list[TicketSlaAlert] = []
        with self.db.session() as session:
            tickets = session.scalars(
                select(Ticket).where(Ticket.status.not_in(("resolved", "closed")))
            ).all()
            for ticket in tickets:
                alert = self._check_one(session, ticket, now)
                if alert is not None:
                    alerts.append(alert)
        for alert in alerts:
            if self.bus is not None:
                self.bus.publish(alert)
        return alerts

    def _check_one(self, session: Session, ticket: Ticket, now: datetime) -> TicketSlaAlert | None:
        if ticket.priority not in PRIORITIES:
            return None
        status = SlaClock.evaluate(
            self.policy.sla_for(ticket.category, ticket.priority),
            self.calendar,
            opened_at=ticket.opened_at,
            events=clock_events(session, ticket),
            now=now,
        )
        before, after = ticket.sla_state, status.worst
        dues = [c.due_at for c in status.clocks if c.due_at is not None and c.met_at is None]
        ticket.due_at = min(dues) if dues else None
        ticket.sla_state = after
        if after not in ALERTING or SLA_RANK[after] <= SLA_RANK.get(before, 0):
            return None
        clock = next(c for c in status.clocks if c.state == after)
        escalate = after == "breached"
        session.add(
            TicketEvent(
                ticket_id=ticket.id, at=now, actor_id=None,
                kind="sla_breach" if escalate else "sla_warning",
                data={"clock": clock.name, "due_at": clock.due_at.isoformat()
                      if clock.due_at else None, "escalated_to": "supervisor" if escalate else ""},
                public=False,
            )
        )  # fmt: skip
        return TicketSlaAlert(
            number=ticket.number,
            category=ticket.category,
            priority=ticket.priority,
            clock=clock.name,
            state=after,
            due_at=clock.due_at,
            escalate=escalate,
        )

    async def run(
        self, stop: asyncio.Event, clock: Callable[[], datetime] = utcnow, interval_s: float = 5.0
    ) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.check, clock())
            except Exception:
                log.exception("SLA check failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
