"""Who speaks on the recording's right channel: our prompts (leg ``system``) until an agent is
bridged, then the agent (leg ``agent``) — live, as the dispatcher publishes the ASR workers'
utterances, and when a channel is transcribed again from the file (spans from the CDR). The
channel's status keeps the name ``system``, and replacing its transcript replaces both labels."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tingyin.asr.actions import apply_transcript_event, replace_leg_transcript
from tingyin.asr.dispatch import AsrDispatcher
from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    CallAnswered,
    CallRinging,
    Event,
    TranscriptFinal,
    TranscriptLegStatus,
    TranscriptPartial,
)
from tingyin.store import Database
from tingyin.store.models import TranscriptSegment
from tingyin.telephony.actions import apply_call_event

RATE = 8000
T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def said(call_id: str, start: float, leg: str = "system") -> TranscriptFinal:
    return TranscriptFinal(call_id=call_id, leg=leg, start=start, end=start + 0.5, text="嗯")


def test_live_utterances_of_our_side_are_the_agents_while_one_is_on_the_call(
    tmp_path: Path,
) -> None:
    async def scenario() -> list[Event]:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()
        dispatcher = AsrDispatcher(bus, tmp_path, capacity=0, max_lag_ms=1000)
        seen: list[Event] = []

        async def keep(event: Event) -> None:
            seen.append(event)

        bus.subscribe(Event, keep)
        two_seconds = bytes(2 * RATE * 2)

        async def leg(state: str, reason: str = "") -> None:
            bus.publish(AgentLeg(call_id="c", leg_id="l", state=state, agent_id=5, reason=reason))
            await bus.drain()

        dispatcher.on_audio("c", 0, two_seconds, two_seconds)  # 0–2 s: the IVR
        await leg("answered")  # the first agent at 2 s …
        dispatcher.on_audio("c", 2 * RATE, two_seconds, two_seconds)
        await leg("ended", "transferred")  # … let go at 4 s (hold music) …
        dispatcher.on_audio("c", 4 * RATE, two_seconds, two_seconds)
        await leg("answered")  # … the next agent from 6 s on
        seen.clear()
        for start in (1.0, 3.0, 5.0, 7.0):
            dispatcher.on_event(None, said("c", start))  # type: ignore[arg-type]
        dispatcher.on_event(None, said("c", 3.0, leg="caller"))  # type: ignore[arg-type]
        dispatcher.on_event(None, TranscriptPartial(call_id="c", leg="system", text="您好"))  # type: ignore[arg-type]
        status = TranscriptLegStatus(call_id="c", leg="system", status="complete")
        dispatcher.on_event(None, status)  # type: ignore[arg-type]
        await bus.drain()
        await bus.stop()
        return seen

    seen = asyncio.run(scenario())
    finals = [(e.leg, e.start) for e in seen if isinstance(e, TranscriptFinal)]
    assert finals == [("system", 1.0), ("agent", 3.0), ("system", 5.0), ("agent", 7.0),
                      ("caller", 3.0)]  # fmt: skip
    assert [e.leg for e in seen if isinstance(e, TranscriptPartial)] == ["agent"]
    assert [e.leg for e in seen if isinstance(e, TranscriptLegStatus)] == ["system"]


def test_a_channel_transcribed_again_is_labelled_from_the_cdr(db: Database) -> None:
    events: list[Event] = [
        CallRinging(call_id="c", sip_call_id="s", worker=0, caller="13900001234",
                    dialed="4008001234", at=T0),
        CallAnswered(call_id="c", at=T0),
        AgentLeg(call_id="c", leg_id="l", state="ringing", agent_id=5,
                 at=T0 + timedelta(seconds=1)),
        AgentLeg(call_id="c", leg_id="l", state="answered", agent_id=5,
                 at=T0 + timedelta(seconds=2)),
        AgentLeg(call_id="c", leg_id="l", state="ended", agent_id=5, reason="agent-hangup",
                 at=T0 + timedelta(seconds=6)),
    ]  # fmt: skip
    with db.session() as session:
        for event in events:
            apply_call_event(session, event)
        apply_transcript_event(session, said("c", 0.5))
        apply_transcript_event(session, TranscriptFinal(call_id="c", leg="agent", start=3.0,
                                                        end=3.5, text="您好"))  # fmt: skip
    with db.session() as session:
        stored = replace_leg_transcript(
            session, "c", "system", [said("c", 1.0), said("c", 4.0), said("c", 7.0)]
        )
    assert stored == 3
    with db.session() as session:
        rows = session.scalars(select(TranscriptSegment).order_by(TranscriptSegment.start))
        # The live ones of both labels were replaced; the agent spoke from 2 s to 6 s.
        assert [(r.leg, r.start, r.source) for r in rows] == [
            ("system", 1.0, "live"), ("agent", 4.0, "live"), ("system", 7.0, "live"),
        ]  # fmt: skip
