"""The SLA watch with a test-controlled clock: warning before the breach, then the breach with
an escalation, each announced once and written to the ticket's history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tingyin.bus import EventBus
from tingyin.bus.events import Event, TicketSlaAlert
from tingyin.store import Database
from tingyin.store.models import Ticket, TicketEvent
from tingyin.tickets.actions import NewTicket, change_status, create_ticket
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.watch import SlaWatch

# 10:00 in Beijing on a Monday: inside the 09:00–22:00 desk hours.
OPENED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> TicketPolicy:
    return load_ticket_policy()


def test_warning_then_breach_then_nothing_more(db: Database, policy: TicketPolicy) -> None:
    with db.session() as session:
        made = create_ticket(session, policy, NewTicket(category="food_safety",
                             description="吃了拉肚子"), actor=None, now=OPENED)  # fmt: skip
        number, priority = made.ticket.number, made.ticket.priority
    assert priority == "urgent"
    first_response = policy.sla_for("food_safety", "urgent").first_response_min
    watch = SlaWatch(db, policy)
    assert watch.check(OPENED + timedelta(minutes=1)) == []
    warned = watch.check(OPENED + timedelta(minutes=first_response * 0.85))
    assert [(a.number, a.clock, a.state, a.escalate) for a in warned] == [
        (number, "first_response", "warning", False)
    ]
    assert watch.check(OPENED + timedelta(minutes=first_response * 0.9)) == []  # said once
    breached = watch.check(OPENED + timedelta(minutes=first_response + 1))
    assert [(a.state, a.escalate) for a in breached] == [("breached", True)]
    assert watch.check(OPENED + timedelta(minutes=first_response + 2)) == []
    with db.session() as session:
        ticket = session.query(Ticket).one()
        assert ticket.sla_state == "breached"
        kinds = [e.kind for e in session.query(TicketEvent).order_by(TicketEvent.id)]
        assert kinds == ["created", "sla_warning", "sla_breach"]
        breach = session.query(TicketEvent).filter_by(kind="sla_breach").one()
        assert breach.data["escalated_to"] == "supervisor"


def test_a_resolved_ticket_is_left_alone(db: Database, policy: TicketPolicy) -> None:
    with db.session() as session:
        ticket = create_ticket(session, policy, NewTicket(category="spill"), actor=None,
                               now=OPENED).ticket  # fmt: skip
        change_status(session, policy, ticket, "resolved", actor=None,
                      now=OPENED + timedelta(minutes=5))  # fmt: skip
    assert SlaWatch(db, policy).check(OPENED + timedelta(days=3)) == []


def test_alerts_go_out_on_the_bus(db: Database, policy: TicketPolicy) -> None:
    with db.session() as session:
        create_ticket(session, policy, NewTicket(category="late"), actor=None, now=OPENED)

    async def run() -> list[Event]:
        bus = EventBus(asyncio.get_running_loop())
        seen: list[Event] = []

        async def collect(event: Event) -> None:
            seen.append(event)

        bus.subscribe(TicketSlaAlert, collect)
        bus.start()
        stop = asyncio.Event()
        times = iter([OPENED + timedelta(hours=h) for h in (0, 30, 31)])
        watch = SlaWatch(db, policy, bus)
        task = asyncio.create_task(watch.run(stop, clock=lambda: next(times), interval_s=0.05))
        await asyncio.sleep(0.12)
        stop.set()
        await task
        await bus.stop()
        return seen

    seen = asyncio.run(run())
    assert [e.state for e in seen if isinstance(e, TicketSlaAlert)] == ["breached"]
