"""The first real calls: SIPp and the pjsua2 test caller through Kamailio to the workers.

Asserts through the API (CDR, DTMF events, the recording), the websocket, and the WAV file.
"""

from __future__ import annotations

import io
import json
import threading
import wave
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.integration.clients import caller_outcome, place_test_call, sipp_uac_pcap
from tests.integration.hubproc import RunningHub

pytestmark = pytest.mark.integration


def read_stereo(data: bytes) -> tuple[int, np.ndarray[Any, np.dtype[np.int16]]]:
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getnchannels() == 2, "recording must be stereo"
        assert wav.getsampwidth() == 2
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    return rate, samples


def rms(channel: np.ndarray[Any, np.dtype[np.int16]]) -> float:
    return float(np.sqrt(np.mean(channel.astype(np.float64) ** 2))) if len(channel) else 0.0


def call_seconds(call: dict[str, Any]) -> float:
    answered = datetime.fromisoformat(call["answered_at"])
    ended = datetime.fromisoformat(call["ended_at"])
    return (ended - answered).total_seconds()


def check_recording(hub: RunningHub, call: dict[str, Any]) -> np.ndarray[Any, np.dtype[np.int16]]:
    response = hub.get(f"/api/calls/{call['id']}/recording", role="supervisor")
    assert response.status_code == 200, response.text
    rate, samples = read_stereo(response.content)
    seconds = len(samples) / rate
    assert abs(seconds - call_seconds(call)) <= 0.5, (seconds, call_seconds(call))
    assert rms(samples[:, 0]) > 100, "caller channel (left) is silent"
    return samples


class EventCollector:
    """Reads /ws/events in a thread for the length of a test."""

    def __init__(self, hub: RunningHub, role: str = "agent") -> None:
        url = hub.http_url.replace("http://", "ws://") + "/ws/events"
        self.ws = connect(f"{url}?token={hub.tokens[role]}", open_timeout=10)
        self.events: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for message in self.ws:
                self.events.append(json.loads(message))
        except Exception:
            pass

    def close(self) -> None:
        self.ws.close()
        self._thread.join(5)


def test_sipp_g711_call_is_answered_recorded_and_stored(hub: RunningHub, tmp_path: Path) -> None:
    events = EventCollector(hub)
    result = sipp_uac_pcap(tmp_path, hub.sip_host, hub.sip_port, dialed="4008001234")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (call,) = hub.wait_calls_finished(1)
    assert call["direction"] == "inbound"
    assert call["dialed_number"] == "4008001234"
    assert call["caller_number"] == "sipp"
    assert call["status"] == "ended"
    assert call["codec"] == "PCMA"
    assert call["answered_at"] and call["end_reason"] == "hangup"
    detail = hub.get(f"/api/calls/{call['id']}").json()
    assert [e["data"]["digit"] for e in detail["events"] if e["kind"] == "dtmf"] == ["1"]
    check_recording(hub, call)
    hub.wait_for(
        "the call on /ws/events",
        lambda: any(e["type"] == "CallEnded" and e["call_id"] == call["id"] for e in events.events),
    )
    events.close()
    kinds = [e["type"] for e in events.events if e.get("call_id") == call["id"]]
    assert kinds[0] == "CallRinging" and "CallAnswered" in kinds and "DtmfReceived" in kinds


def test_pjsua2_caller_speech_and_dtmf(hub: RunningHub, speech_wav: Path, tmp_path: Path) -> None:
    before = {c["id"] for c in hub.calls()}
    heard = tmp_path / "heard.wav"
    proc = place_test_call(
        f"sip:4008005678@{hub.sip_host}:{hub.sip_port}",
        play=speech_wav,
        record=heard,
        dtmf="12#",
        dtmf_at=1.0,
        hangup_after=5.0,
        caller="13912345678",
    )
    outcome = caller_outcome(proc)
    assert outcome["answered"] and outcome["dtmf_sent"] == "12#"
    (call,) = hub.wait_calls_finished(1, since=before)
    assert call["caller_number"] == "13912345678"
    assert call["dialed_number"] == "4008005678"
    assert call["codec"] == "PCMU"  # preferred over PCMA when the caller offers both
    detail = hub.get(f"/api/calls/{call['id']}").json()
    assert [e["data"]["digit"] for e in detail["events"] if e["kind"] == "dtmf"] == ["1", "2", "#"]
    samples = check_recording(hub, call)
    # The greeting is on the right channel and the caller heard it.
    assert rms(samples[:, 1]) > 100
    with wave.open(str(heard)) as wav:
        heard_pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert rms(heard_pcm) > 100, "the caller heard nothing"


def test_tcp_transport_call(hub: RunningHub) -> None:
    before = {c["id"] for c in hub.calls()}
    proc = place_test_call(
        f"sip:4008000000@{hub.sip_host}:{hub.sip_port}", transport="tcp", hangup_after=2.0
    )
    assert caller_outcome(proc)["answered"]
    (call,) = hub.wait_calls_finished(1, since=before)
    assert call["status"] == "ended"


def test_recording_download_is_audited(hub: RunningHub) -> None:
    call = next(c for c in hub.calls() if c["recording_path"])
    assert hub.get(f"/api/calls/{call['id']}/recording", role="agent").status_code == 403
    assert hub.get(f"/api/calls/{call['id']}/recording", role="qa").status_code == 200
    audit = hub.get("/api/audit").json()
    assert any(
        a["action"] == "recording.download"
        and a["object_id"] == call["id"]
        and a["username"] == "it-qa"
        for a in audit
    )


def test_api_and_socket_need_a_login(hub: RunningHub) -> None:
    for path in ("/api/calls", "/api/calls/x", "/api/calls/x/recording", "/api/users"):
        response = hub.get(path, role=None)
        assert response.status_code == 401, path
    assert hub.get("/api/health", role=None).status_code == 200
    url = hub.http_url.replace("http://", "ws://") + "/ws/events"
    with pytest.raises(Exception), connect(url, open_timeout=5) as ws:
        ws.recv(timeout=5)


def test_supervisor_hears_a_call_live_and_it_is_audited(hub: RunningHub, speech_wav: Path) -> None:
    before = {c["id"] for c in hub.calls()}
    proc = place_test_call(
        f"sip:4008002222@{hub.sip_host}:{hub.sip_port}",
        play=speech_wav,
        hangup_after=6.0,
        caller="13700001111",
        wait=False,
    )

    def answered() -> dict[str, Any] | None:
        return next((c for c in hub.calls() if c["id"] not in before and c["answered_at"]), None)

    call = hub.wait_for("the call answered", answered, timeout=20)
    url = hub.http_url.replace("http://", "ws://") + f"/ws/calls/{call['id']}/audio"

    def bearer(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {hub.tokens[role]}"}

    with connect(url, additional_headers=bearer("agent"), open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as refused:
            ws.recv(timeout=10)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403

    chunks: list[bytes] = []
    with connect(url, additional_headers=bearer("supervisor"), open_timeout=10) as ws:
        head = json.loads(ws.recv(timeout=10))
        assert head["rate"] == 8000 and head["channels"] == 2
        for message in ws:
            if isinstance(message, bytes):
                chunks.append(message)
            elif json.loads(message)["type"] == "ended":
                break
    assert caller_outcome(proc)["answered"]
    stereo = np.frombuffer(b"".join(chunks), dtype="<i2").reshape(-1, 2)
    assert len(stereo) / 8000 > 2.0, "heard under 2 s of a 6 s call"
    assert rms(stereo[:, 0]) > 100 and rms(stereo[:, 1]) > 100  # caller speech, greeting

    audit = hub.get("/api/audit").json()
    mine = [a for a in audit if a["object_id"] == call["id"] and a["username"] == "it-supervisor"]
    assert {a["action"] for a in mine} == {"call.listen", "call.listen.end"}
    assert not any(a["username"] == "it-agent" and a["object_id"] == call["id"] for a in audit)


def test_logs_hold_no_tokens_or_full_numbers(hub: RunningHub) -> None:
    # Runs after the calls and websocket logins above (same module hub).
    logs = "".join(p.read_text(errors="replace") for p in hub.data_dir.rglob("*.log"))
    for token in hub.tokens.values():
        assert token not in logs
    assert "4008001234" not in logs  # the dialed service number appears only masked
