"""Test data built the way the system builds it: through the features' actions."""

from __future__ import annotations

import wave
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallRecordingStarted,
    CallRinging,
    DtmfReceived,
    utcnow,
)
from tingyin.store import Database
from tingyin.telephony.actions import apply_call_event


def app_bus(client: TestClient) -> EventBus:
    bus = client.app.state.bus  # type: ignore[attr-defined]
    assert isinstance(bus, EventBus)
    return bus


def make_call(
    db: Database,
    call_id: str,
    *,
    recording: str | None = None,
    digits: str = "",
    ended: bool = True,
    minutes_ago: int = 1,
) -> None:
    """A call as the workers report it: ringing, answered, recording, DTMF, ended."""
    start = utcnow() - timedelta(minutes=minutes_ago)
    events = [
        CallRinging(call_id=call_id, at=start, sip_call_id=f"sip-{call_id}", worker=0,
                    caller="13812345678", dialed="4008001234"),
        CallAnswered(call_id=call_id, at=start + timedelta(seconds=1), codec="PCMU"),
    ]  # fmt: skip
    if recording is not None:
        events.append(CallRecordingStarted(call_id=call_id, path=recording))
    events += [DtmfReceived(call_id=call_id, digit=d) for d in digits]
    if ended:
        events.append(CallEnded(call_id=call_id, at=start + timedelta(seconds=30), reason="hangup",
                                recording_path=recording, recording_seconds=29.0))  # fmt: skip
    with db.session() as session:
        for event in events:
            apply_call_event(session, event)


def write_wav(path: Path) -> bytes:
    """A tiny valid WAV file (the endpoint serves bytes; their content is not its concern)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x01\x00\x02\x00" * 800)
    return path.read_bytes()
