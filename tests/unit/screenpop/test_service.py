"""The ring-time service on a real bus and database (SQLite and PostgreSQL): a ringing call
pops its context, the caller's words can raise it to urgent, and a broken source still pops."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded, CallerContextReady, CallRinging, Event, TranscriptFinal
from tingyin.config import load_settings
from tingyin.screenpop.context import ContextBuilder
from tingyin.screenpop.lookups import ProcessLookups, ThreadLookups
from tingyin.screenpop.policy import load_policy
from tingyin.screenpop.scenarios import Scenarios, plant_scenarios
from tingyin.screenpop.service import ScreenPopService
from tingyin.screenpop.sources import Binding, OrderRecord, Party, SourceError
from tingyin.screenpop.sql_source import SqlOrderSource
from tingyin.store import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    plant_scenarios(database, now=datetime.now().astimezone())
    yield database
    database.dispose()


class BrokenSource:
    """Fault injection: an order system that is down."""

    name = "broken"

    def parties(self, phone: str) -> list[Party]:
        raise SourceError("order API: connection refused")

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        raise SourceError("order API: connection refused")

    def order(self, order_no: str) -> OrderRecord | None:
        raise SourceError("order API: connection refused")

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        raise SourceError("order API: connection refused")


async def _run(builder: ContextBuilder, *events: Event, settle: float = 0.5) -> list[Event]:
    bus = EventBus(asyncio.get_running_loop())
    seen: list[Event] = []

    async def collect(event: Event) -> None:
        seen.append(event)

    bus.subscribe(CallerContextReady, collect)
    service = ScreenPopService(ThreadLookups(builder, threads=2), bus, builder.policy)
    bus.start()
    await service.start()
    for event in events:
        bus.publish(event)
        await asyncio.sleep(settle)
    await service.stop()
    await bus.stop()
    return seen


def test_the_caller_words_raise_a_late_order_to_food_safety(db: Database) -> None:
    s = Scenarios()
    builder = ContextBuilder(SqlOrderSource(db), db, load_policy())
    ringing = CallRinging(call_id="c1", sip_call_id="x", worker=0, caller=s.late_customer,
                          dialed="4008001234")  # fmt: skip
    said = TranscriptFinal(call_id="c1", leg="caller", start=1.0, end=3.0, text="吃了以后拉肚子")
    agent_said = TranscriptFinal(call_id="c1", leg="agent", start=3.0, end=4.0, text="变质")
    seen = asyncio.run(
        _run(builder, ringing, agent_said, said, CallEnded(call_id="c1", reason="x"))
    )
    pops = [e for e in seen if isinstance(e, CallerContextReady)]
    assert [p.revision for p in pops] == [1, 2]
    assert pops[0].suggestion is not None and pops[0].suggestion.rule == "late-20"
    assert pops[1].suggestion is not None and pops[1].suggestion.rule == "food-safety"
    assert pops[1].orders == pops[0].orders  # only the suggestion changed


def test_a_broken_order_source_still_pops_the_number(db: Database) -> None:
    builder = ContextBuilder(BrokenSource(), db, load_policy())
    ringing = CallRinging(call_id="c2", sip_call_id="x", worker=0, caller="13800000001",
                          dialed="4008001234")  # fmt: skip
    (pop,) = asyncio.run(_run(builder, ringing))
    assert isinstance(pop, CallerContextReady)
    assert pop.caller == "138****0001" and pop.caller_kind == "unknown"
    assert "connection refused" in pop.error


def test_lookup_processes_pop_and_survive_a_dead_process(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    database = Database(settings.resolved_database_url)
    database.migrate()
    plant_scenarios(database, now=datetime.now().astimezone())
    s = Scenarios()

    async def run() -> list[CallerContextReady]:
        lookups = ProcessLookups(settings, ContextBuilder(SqlOrderSource(database), database,
                                                          load_policy()), processes=1)  # fmt: skip
        await lookups.start()
        try:
            now = datetime.now().astimezone()
            first = await lookups.for_call("p1", s.rider, now)
            pid = await asyncio.get_running_loop().run_in_executor(lookups._pool, os.getpid)
            os.kill(pid, signal.SIGKILL)  # fault injection: the lookup process dies
            await asyncio.sleep(0.3)
            second = await lookups.for_call("p2", s.late_customer, now)  # answered here instead
            third = await lookups.for_call("p3", s.late_customer, now)  # by the new process
            return [first, second, third]
        finally:
            await lookups.stop()

    pops = asyncio.run(run())
    database.dispose()
    assert [p.caller_kind for p in pops] == ["rider", "customer", "customer"]
    assert pops[2].orders[0].order_no == s.late_order
