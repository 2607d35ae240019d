"""What a waiting caller hears outside the menu walk: hold music again after a blind transfer
(until the next agent answers), the callback offer after the queue's maximum wait, and the
greeting of a callback the ACD places. Bus, call control and the IVR service are real; the media
worker is the stand-in of test_spoken_keys (prompts "play" for 0.3 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.unit.ivr.test_spoken_keys import Actions, StandInWorker
from tests.unit.ivr.test_spoken_keys import wav as wav  # the fixture: a short silent prompt
from tingyin.bus import EventBus
from tingyin.bus.events import CallAnswered, CallRinging, DtmfReceived
from tingyin.config.settings import OutboundSettings
from tingyin.ivr.menu import load_menu
from tingyin.ivr.service import IvrService
from tingyin.ivr.session import CALLBACK_GREETING, CALLBACK_OFFER, CALLBACK_TAKEN
from tingyin.telephony.control import CallControl

CALL = "h" * 32


async def _service(wav: Path) -> tuple[EventBus, IvrService, StandInWorker, Actions]:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    worker = StandInWorker(bus)
    outbound = OutboundSettings(dial_uri="sip:{number}@127.0.0.1:5099")
    control = CallControl(bus, worker.send, lambda: 0, outbound)
    actions = Actions(wav)
    service = IvrService(bus, control, load_menu(), actions, Path("."))  # type: ignore[arg-type]
    return bus, service, worker, actions


def _plays(worker: StandInWorker) -> list[str]:
    return [c["path"] for c in worker.commands if c["command"] == "play"]


def test_after_a_transfer_music_plays_until_the_next_agent_answers(wav: Path) -> None:
    async def scenario() -> None:
        bus, service, worker, _ = await _service(wav)
        service.hold(CALL, 0)  # the ACD requeued the caller (their agent was let go)
        await asyncio.sleep(0.8)
        music = len(_plays(worker))
        assert music >= 2  # the music, again and again
        service.release(CALL)  # the next agent answered
        await asyncio.sleep(0.5)
        assert len(_plays(worker)) == music
        assert CALL not in service.control.handles
        await service.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_after_the_maximum_wait_pressing_1_asks_for_a_callback(wav: Path) -> None:
    taken: list[tuple[str, str]] = []

    def take(call_id: str, number: str) -> bool:
        taken.append((call_id, number))
        return True

    async def scenario() -> None:
        bus, service, worker, actions = await _service(wav)
        due_at = asyncio.get_running_loop().time() + 0.5
        service.callback_in = lambda _c: max(0.0, due_at - asyncio.get_running_loop().time())
        service.take_callback = take
        bus.publish(CallRinging(call_id=CALL, sip_call_id="s", worker=0, caller="13900001234",
                                dialed="4008001234"))  # fmt: skip
        bus.publish(CallAnswered(call_id=CALL))
        await asyncio.sleep(0.1)
        service.release(CALL)  # (the walk ends when a first agent answers)
        await asyncio.sleep(0.05)
        actions.said.clear()
        service.hold(CALL, 0)  # and the caller is put back in the queue by a transfer
        await asyncio.sleep(0.3)
        bus.publish(DtmfReceived(call_id=CALL, digit="1"))  # on hold, before the offer: dropped
        await asyncio.sleep(0.5)
        assert actions.said == [CALLBACK_OFFER]  # the music was cut short for it
        bus.publish(DtmfReceived(call_id=CALL, digit="1"))
        await asyncio.sleep(0.8)
        assert taken == [(CALL, "13900001234")]
        assert actions.said == [CALLBACK_OFFER, CALLBACK_TAKEN]
        assert worker.commands[-1]["command"] == "hangup"
        await service.stop()
        await bus.stop()

    asyncio.run(scenario())


def test_a_callback_greets_the_customer_before_the_agent_is_rung(wav: Path) -> None:
    async def scenario() -> None:
        bus, service, worker, actions = await _service(wav)
        dialled: asyncio.Task[Any] = asyncio.create_task(service.call_back("13900001234"))
        await asyncio.sleep(0.05)
        (originate,) = [c for c in worker.commands if c["command"] == "originate"]
        assert originate["uri"] == "sip:13900001234@127.0.0.1:5099"
        assert not dialled.done()  # ringing
        bus.publish(CallAnswered(call_id=originate["call_id"]))
        await asyncio.sleep(0.1)
        assert actions.said == [CALLBACK_GREETING] and not dialled.done()
        assert await dialled == originate["call_id"]  # greeted: now the agent may ring
        await asyncio.sleep(0.4)
        assert len(_plays(worker)) >= 2  # then hold music
        service.release(originate["call_id"])
        await service.stop()
        await bus.stop()

    asyncio.run(scenario())
