"""The relay switches a worker's stream on for the first listener and off after the last."""

from __future__ import annotations

import asyncio
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded, WorkerExited
from tingyin.telephony.audio_relay import AudioRelay

CALL = "c" * 32


async def scenario() -> None:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    commands: list[tuple[int, dict[str, Any]]] = []

    async def send(worker: int, command: dict[str, Any]) -> bool:
        commands.append((worker, command))
        return True

    relay = AudioRelay(bus, send, lambda call_id: 2 if call_id == CALL else None)
    assert await relay.open("d" * 32) is None  # no worker holds it
    first, second = await relay.open(CALL), await relay.open(CALL)
    assert first is not None and second is not None
    assert commands == [(2, {"command": "stream", "call_id": CALL, "on": True})]

    relay.on_audio(CALL, 0, b"L", b"R")
    assert await first.get() == (b"L", b"R") and await second.get() == (b"L", b"R")
    await relay.close(first)
    assert len(commands) == 1 and relay.listeners(CALL) == 1
    await relay.close(second)
    assert commands[-1] == (2, {"command": "stream", "call_id": CALL, "on": False})

    # The call ending closes the streams still open.
    third = await relay.open(CALL)
    assert third is not None
    bus.publish(CallEnded(call_id=CALL, reason="hangup", sip_status=200))
    assert await asyncio.wait_for(third.get(), 2) is None

    fourth = await relay.open(CALL)
    assert fourth is not None
    bus.publish(WorkerExited(worker=2, exit_code=-9, active_calls=(CALL,)))
    assert await asyncio.wait_for(fourth.get(), 2) is None
    await bus.stop()


def test_relay_streams_only_while_someone_listens() -> None:
    asyncio.run(scenario())


def test_slow_listener_drops_oldest_chunks() -> None:
    async def run() -> None:
        bus = EventBus(asyncio.get_running_loop())

        async def send(_w: int, _c: dict[str, Any]) -> bool:
            return True

        relay = AudioRelay(bus, send, lambda _c: 0)
        stream = await relay.open(CALL)
        assert stream is not None
        for i in range(60):
            relay.on_audio(CALL, i, bytes([i]), b"")
        assert stream.dropped == 10
        assert await stream.get() == (bytes([10]), b"")

    asyncio.run(run())
