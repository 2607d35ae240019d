"""The ACD's side of attended transfer and blind transfer to an outside number, on the real
event bus: what is sent to the customer's worker and how the colleague's state follows their
consult leg. The worker's side runs in tests/integration/test_consult.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.unit.telephony.test_acd import CUSTOMER, T0, Directory
from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    ConsultLeg,
    ConsultRequested,
    OutsideTransferRequested,
)
from tingyin.telephony.acd import Acd, Offerable

MUSIC = Path("/prompts/hold-music.wav")


async def _acd(agents: list[Offerable]) -> tuple[EventBus, Acd, Directory, list[dict[str, Any]]]:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    sent: list[dict[str, Any]] = []

    async def send(worker: int, command: dict[str, Any]) -> bool:
        sent.append(command | {"worker": worker})
        return True

    directory = Directory(agents)
    acd = Acd(bus, directory, {"customer": CUSTOMER}, send, lambda _call: 3, ring_seconds=5,
              wrap_up_seconds=60, dial_uri=lambda n: f"sip:{n}@gw",
              caller_id="4008001234")  # fmt: skip
    acd.hold_music = lambda: MUSIC
    return bus, acd, directory, sent


async def _settle(bus: EventBus) -> None:
    for _ in range(3):
        await bus.drain()
        await asyncio.sleep(0.01)


def _consult_leg(sent: dict[str, Any], state: str, reason: str = "") -> ConsultLeg:
    return ConsultLeg(call_id=sent["call_id"], leg_id=sent["leg_id"], state=state,
                      agent_id=sent["agent_id"], from_agent=1, reason=reason)  # fmt: skip


def test_a_consult_rings_the_colleague_who_then_talks_and_wraps_up() -> None:
    async def scenario() -> None:
        bus, acd, directory, sent = await _acd([Offerable(2, "sip:2@x", T0)])
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        await _settle(bus)
        assert len(sent) == 1  # a second click does not ring anyone twice
        (consult,) = sent
        assert {k: consult[k] for k in ("command", "call_id", "uri", "agent_id", "worker")} == {
            "command": "consult", "call_id": "c", "uri": "sip:2@x", "agent_id": 2, "worker": 3
        }  # fmt: skip
        assert consult["music"] == str(MUSIC) and consult["ring_seconds"] == 5
        assert directory.moves == [("ringing", 2)]  # not offered another call meanwhile

        bus.publish(_consult_leg(consult, "answered"))
        await _settle(bus)
        assert directory.moves[-1] == ("on_call", 2)
        bus.publish(ConsultRequested(call_id="c", action="cancel", by_user=1))
        await _settle(bus)
        assert sent[-1] == {"command": "consult_cancel", "call_id": "c", "worker": 3}
        bus.publish(_consult_leg(consult, "ended", "cancelled"))
        await _settle(bus)
        assert directory.moves[-1] == ("wrap_up", 2)
        # Over: the agent may consult again.
        directory.state[2] = "ready"
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        await _settle(bus)
        assert [c["command"] for c in sent] == ["consult", "consult_cancel", "consult"]
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_an_unanswered_consult_frees_the_colleague_and_completion_goes_on() -> None:
    async def scenario() -> None:
        bus, acd, directory, sent = await _acd([Offerable(2, "sip:2@x", T0)])
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        await _settle(bus)
        bus.publish(_consult_leg(sent[0], "failed", "no-answer"))
        await _settle(bus)
        assert directory.moves == [("ringing", 2), ("ready", 2)]  # not counted as a missed offer
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        await _settle(bus)
        bus.publish(_consult_leg(sent[1], "answered"))
        bus.publish(ConsultRequested(call_id="c", action="complete", by_user=1))
        await _settle(bus)
        assert sent[-1] == {"command": "consult_complete", "call_id": "c", "worker": 3}
        # The worker hands over: the first agent's leg ends "transferred", the colleague's is
        # now the call's agent leg. The first wraps up; the colleague stays on the call.
        bus.publish(_consult_leg(sent[1], "completed"))
        bus.publish(AgentLeg(call_id="c", leg_id="first", state="ended", agent_id=1,
                             reason="transferred"))  # fmt: skip
        bus.publish(AgentLeg(call_id="c", leg_id=sent[1]["leg_id"], state="answered", agent_id=2))
        await _settle(bus)
        assert directory.moves[-3:] == [("on_call", 2), ("wrap_up", 1), ("on_call", 2)]
        assert "c" not in acd.waiting  # handed over, not queued again
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_a_colleague_not_ready_is_not_rung() -> None:
    async def scenario() -> None:
        bus, acd, directory, sent = await _acd([Offerable(2, "sip:2@x", T0)])
        directory.state[2] = "not_ready"
        seen: list[ConsultLeg] = []

        async def keep(event: ConsultLeg) -> None:
            seen.append(event)

        bus.subscribe(ConsultLeg, keep)
        bus.publish(ConsultRequested(call_id="c", action="start", agent_id=2, by_user=1))
        await _settle(bus)
        assert sent == [] and directory.moves == []
        assert [(e.state, e.agent_id, e.reason) for e in seen] == [("failed", 2, "unavailable")]
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_a_transfer_to_an_outside_number_is_rung_through_the_outbound_route() -> None:
    async def scenario() -> None:
        bus, acd, _directory, sent = await _acd([])
        bus.publish(OutsideTransferRequested(call_id="c", number="01062345678", by_user=1))
        await _settle(bus)
        (command,) = sent
        assert command["command"] == "transfer_out" and command["uri"] == "sip:01062345678@gw"
        assert command["caller"] == "4008001234" and command["music"] == str(MUSIC)
        await acd.stop()
        await bus.stop()

    asyncio.run(scenario())
