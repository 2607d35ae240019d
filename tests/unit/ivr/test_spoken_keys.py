"""Words instead of keys: the IVR reads the caller's live transcript (text the test controls —
the test ASR model cannot understand synthetic Mandarin, see VOSK_NOTES) and treats 人工 like 0.

The media worker is played by a small stand-in on the hub's command channel: prompts "play" for
a few milliseconds and report PromptFinished, stop_prompt cuts one short, hangup ends the call.
Everything else — bus, call control, IVR service and session, the packaged menu — is real.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest

from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRinging,
    Event,
    IvrEnded,
    IvrStep,
    PromptFinished,
    TranscriptFinal,
)
from tingyin.config.settings import OutboundSettings
from tingyin.ivr.menu import load_menu
from tingyin.ivr.service import IvrService
from tingyin.ivr.session import Found
from tingyin.telephony.control import CallControl

CALL = "c" * 32


class StandInWorker:
    """Carries out the hub's commands the way a media worker reports them."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.commands: list[dict[str, Any]] = []
        self.playing: dict[str, asyncio.TimerHandle] = {}

    async def send(self, _worker: int, command: dict[str, Any]) -> bool:
        self.commands.append(command)
        name, call_id = command["command"], command.get("call_id", "")
        loop = asyncio.get_running_loop()
        if name == "play":
            prompt_id = command["prompt_id"]
            finished = PromptFinished(call_id=call_id, prompt_id=prompt_id)
            self.playing[call_id] = loop.call_later(0.3, self._finish, call_id, finished)
        elif name == "stop_prompt" and call_id in self.playing:
            self.playing.pop(call_id).cancel()
            last = next(c for c in reversed(self.commands) if c["command"] == "play")
            self.bus.publish(
                PromptFinished(call_id=call_id, prompt_id=last["prompt_id"], interrupted=True)
            )
        elif name == "hangup":
            self.bus.publish(CallEnded(call_id=call_id, reason="hangup"))
        return True

    def _finish(self, call_id: str, event: PromptFinished) -> None:
        self.playing.pop(call_id, None)
        self.bus.publish(event)


class Actions:
    def __init__(self, wav: Path) -> None:
        self.wav = wav
        self.said: list[str] = []

    async def prompt(self, text: str) -> Path:
        self.said.append(text)
        return self.wav

    async def hold_music(self) -> Path:
        return self.wav

    async def order_by_caller(self, call_id: str, caller: str) -> Found:
        return Found("found", {"result": "您的订单骑手正在配送。"})

    async def order_by_number(self, call_id: str, order_no: str) -> Found:
        return Found("not_found")

    async def ticket_progress(self, call_id: str, number: str) -> Found:
        return Found("not_found")

    async def apply_remedy(self, call_id: str, caller: str, order_no: str) -> Found:
        return Found("error")

    def forget(self, call_id: str) -> None:
        pass

    async def warm(self) -> None:
        pass


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "p.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    return path


async def walk(
    wav: Path, said: str, place: tuple[int, float, float] | None = None
) -> tuple[list[Event], StandInWorker, Actions]:
    bus = EventBus(asyncio.get_running_loop())
    bus.start()
    worker = StandInWorker(bus)
    control = CallControl(bus, worker.send, lambda: 0, OutboundSettings())
    menu = load_menu()
    actions = Actions(wav)
    service = IvrService(bus, control, menu, actions, Path("."))  # type: ignore[arg-type]
    service.queue_place = (lambda _call_id: place) if place else None
    seen: list[Event] = []

    async def keep(event: Event) -> None:
        seen.append(event)

    bus.subscribe(Event, keep)
    bus.publish(CallRinging(call_id=CALL, sip_call_id="s", worker=0, caller="13800000001",
                            dialed="4008001234"))  # fmt: skip
    bus.publish(CallAnswered(call_id=CALL))
    await asyncio.sleep(0.1)  # the welcome prompt is playing
    bus.publish(TranscriptFinal(call_id=CALL, leg="caller", start=0.0, end=1.0, text=said))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if any(isinstance(e, IvrEnded) for e in seen):
            break
    if place:
        await asyncio.sleep(1.0)  # on hold: music, and now and then the place in the queue
    bus.publish(CallEnded(call_id=CALL, reason="hangup"))  # the caller leaves the hold music
    await asyncio.sleep(0.1)
    await service.stop()
    await bus.stop()
    return seen, worker, actions


def test_saying_ren_gong_goes_to_an_agent(wav: Path) -> None:
    seen, worker, _ = asyncio.run(walk(wav, "我 要 转 人工"))
    path = [e.node for e in seen if isinstance(e, IvrStep) and e.result != "timeout"]
    assert path[:2] == ["welcome", "to_agent"]
    assert [e.queue for e in seen if isinstance(e, CallQueued)] == ["customer"]
    assert [e.outcome for e in seen if isinstance(e, IvrEnded)] == ["queued"]
    # The welcome prompt was cut off by the words, as a key would have cut it.
    assert [c["command"] for c in worker.commands][:2] == ["play", "stop_prompt"]


def test_a_menus_own_words(wav: Path) -> None:
    seen, _, _ = asyncio.run(walk(wav, "查 订单"))
    steps = [(e.node, e.result) for e in seen if isinstance(e, IvrStep)]
    assert steps[:2] == [("welcome", ""), ("order_by_caller", "key:1")]


def test_other_talk_does_nothing(wav: Path) -> None:
    seen, _, _ = asyncio.run(walk(wav, "今天 天气 不错"))
    steps = [(e.node, e.result) for e in seen if isinstance(e, IvrStep)]
    # Still waiting for a key in the welcome menu (its 6 s timeout) when the caller hangs up.
    assert steps == [("welcome", "")]
    assert [e.outcome for e in seen if isinstance(e, IvrEnded)] == ["abandoned"]


def test_on_hold_the_caller_hears_their_place(wav: Path) -> None:
    _seen, _worker, actions = asyncio.run(walk(wav, "人工", place=(1, 100.0, 0.4)))
    places = [text for text in actions.said if text.startswith("您前面")]
    assert places and places[0] == "您前面还有一位客户在等待，预计等待两分钟，请您稍候。"
