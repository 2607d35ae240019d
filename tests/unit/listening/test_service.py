"""The alert engine on a real bus: events in, ``CallAlert`` out (and stored by the CDR code as a
call_events row of kind "alert"); timers tick on their own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tingyin.bus import EventBus
from tingyin.bus.codec import decode_event, encode_event
from tingyin.bus.events import (
    AgentLeg,
    CallAlert,
    CallAnswered,
    CallRinging,
    Event,
    TranscriptFinal,
)
from tingyin.listening.rules import load_alert_rules
from tingyin.listening.service import ListeningService
from tingyin.store import Database
from tingyin.store.models import CallEventRow
from tingyin.telephony.actions import apply_call_event
from tingyin.web.events import may_see


def test_alerts_are_published_and_stored(db: Database) -> None:
    clock = [datetime(2026, 5, 1, 8, 0, tzinfo=UTC)]
    seen: list[CallAlert] = []

    async def scenario() -> None:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()

        async def collect(event: Event) -> None:
            assert isinstance(event, CallAlert)
            seen.append(event)

        bus.subscribe(CallAlert, collect)
        service = ListeningService(bus, load_alert_rules(), db, clock=lambda: clock[0],
                                   tick_seconds=0.01)  # fmt: skip
        ringing = CallRinging(call_id="c1", sip_call_id="s", worker=0, caller="13812345678",
                              dialed="400")  # fmt: skip
        events: list[Event] = [
            ringing,
            CallAnswered(call_id="c1"),
            AgentLeg(call_id="c1", leg_id="l1", state="answered", agent_id=3),
            TranscriptFinal(call_id="c1", leg="agent", start=7.0, end=8.0, text="这个我没办法"),
        ]
        for event in events:
            bus.publish(event)
        await bus.drain()
        clock[0] += timedelta(seconds=30)  # 30 s without a word: dead air
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(seen) == 2:
                break
        await bus.drain()
        await service.stop()
        await bus.stop()
        with db.session() as session:
            for event in [*events, *seen]:
                apply_call_event(session, event)

    asyncio.run(scenario())
    phrase, silence = seen
    assert (phrase.rule, phrase.text, phrase.at_seconds, phrase.agent_id) == (
        "forbidden_phrase", "没办法", 7.0, 3,
    )  # fmt: skip
    assert (silence.rule, silence.kind, silence.at_seconds) == ("dead_air", "silence", 20.0)
    assert decode_event(encode_event(phrase)) == phrase  # crosses processes as it is
    assert [r for r in ("agent", "supervisor", "qa", "admin") if may_see(r, phrase)] == [
        "supervisor", "qa", "admin",
    ]  # fmt: skip
    with db.session() as session:
        rows = session.scalars(select(CallEventRow).where(CallEventRow.kind == "alert")).all()
        assert [(r.call_id, r.data["rule"], r.data["at_seconds"]) for r in rows] == [
            ("c1", "forbidden_phrase", 7.0),
            ("c1", "dead_air", 20.0),
        ]
