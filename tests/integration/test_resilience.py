"""Bad input, more calls than one worker holds, and a worker killed mid-call."""

from __future__ import annotations

import os
import signal
import socket
import time
import wave
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import caller_outcome, place_test_call, sipp_uac_pcap
from tests.integration.hubproc import RunningHub

pytestmark = pytest.mark.integration

MALFORMED_SIP = [
    b"INVITE sip:x@127.0.0.1 SIP/2.0\r\n\r\n",  # no Via, From, To, Call-ID, CSeq
    b"OPTIONS  SIP/2.0\r\nVia: garbage\r\nContent-Length: 99999\r\n\r\n",
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n",
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\nCSeq: banana\r\nCall-ID: \xff\xfe\r\n\r\n",
]


def blast(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(50):
            sock.sendto(os.urandom(200), (host, port))
        for message in MALFORMED_SIP:
            sock.sendto(message, (host, port))
    with socket.create_connection((host, port), timeout=5) as tcp:
        tcp.sendall(os.urandom(500) + b"\r\n\r\n" + MALFORMED_SIP[0])


def test_garbage_and_malformed_input_leave_the_server_serving(
    hub: RunningHub, tmp_path: Path
) -> None:
    blast(hub.sip_host, hub.sip_port)  # Kamailio
    for worker in hub.health()["parts"]["workers"]:
        blast("127.0.0.1", worker["sip_port"])  # and each worker behind it
    with hub.client("admin") as client:
        bad = client.post(
            "/api/users", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert bad.status_code == 422
        bad = client.post("/api/users", json={"username": 5})
        assert bad.status_code == 422
    login = httpx.post(f"{hub.http_url}/api/auth/token", content=b"\x00\xff", timeout=10)
    assert login.status_code in (400, 401, 422)

    before = {c["id"] for c in hub.calls()}
    result = sipp_uac_pcap(tmp_path, hub.sip_host, hub.sip_port)
    assert result.returncode == 0, result.stdout[-2000:]
    (call,) = hub.wait_calls_finished(1, since=before)
    assert call["status"] == "ended" and call["recording_seconds"] > 5
    assert all(w["alive"] and w["restarts"] == 0 for w in hub.health()["parts"]["workers"])


def test_more_calls_than_one_worker_holds(hub: RunningHub, tmp_path: Path) -> None:
    before = {c["id"] for c in hub.calls()}
    result = sipp_uac_pcap(tmp_path, hub.sip_host, hub.sip_port, calls=12, concurrent=12, rate=50)
    assert result.returncode == 0, result.stdout[-3000:]
    calls = hub.wait_calls_finished(12, since=before, timeout=60)
    assert len(calls) == 12
    assert all(c["status"] == "ended" for c in calls), [c["status"] for c in calls]
    assert all(c["recording_seconds"] and c["recording_seconds"] > 5 for c in calls)
    per_worker: dict[int, int] = {}
    for call in calls:
        per_worker[call["worker"]] = per_worker.get(call["worker"], 0) + 1
    assert len(per_worker) >= 3 and max(per_worker.values()) <= 4, per_worker


def test_callers_hanging_up_at_once_leave_clean_records(hub: RunningHub) -> None:
    """Hang-ups during the greeting's first frames: every call ends cleanly, files playable."""
    before = {c["id"] for c in hub.calls()}
    uri = f"sip:4008003333@{hub.sip_host}:{hub.sip_port}"
    callers = [
        place_test_call(uri, hangup_after=0.05 * i, caller=f"1360000000{i}", wait=False)
        for i in range(6)
    ]
    for proc in callers:
        caller_outcome(proc)
    calls = hub.wait_calls_finished(6, since=before, timeout=40)
    assert all(c["status"] == "ended" for c in calls), [c["status"] for c in calls]
    for call in calls:
        if call["recording_path"]:
            recording = hub.data_dir / "recordings" / str(call["recording_path"])
            with wave.open(str(recording)) as wav:
                assert wav.getnchannels() == 2
    assert all(w["alive"] and w["restarts"] == 0 for w in hub.health()["parts"]["workers"])


def test_killed_worker_loses_only_its_own_calls(hub: RunningHub, speech_wav: Path) -> None:
    before = {c["id"] for c in hub.calls()}
    uri = f"sip:4008001111@{hub.sip_host}:{hub.sip_port}"
    callers = [
        place_test_call(uri, play=speech_wav, hangup_after=8.0, caller=f"1390000000{i}", wait=False)
        for i in range(6)
    ]

    def six_answered() -> list[dict[str, object]] | None:
        calls = [c for c in hub.calls() if c["id"] not in before and c["answered_at"]]
        return calls if len(calls) == 6 else None

    answered = hub.wait_for("six answered calls", six_answered, timeout=30)
    time.sleep(1.5)  # let the recordings grow
    victim = int(str(answered[0]["worker"]))
    worker = next(w for w in hub.health()["parts"]["workers"] if w["index"] == victim)
    os.kill(worker["pid"], signal.SIGKILL)
    outcomes = [caller_outcome(p) for p in callers]
    assert all(o["answered"] for o in outcomes)

    calls = hub.wait_calls_finished(6, since=before, timeout=40)
    lost = [c for c in calls if c["worker"] == victim]
    kept = [c for c in calls if c["worker"] != victim]
    assert lost and kept
    assert all(c["status"] == "failed" and "died" in c["end_reason"] for c in lost)
    assert all(c["status"] == "ended" and c["end_reason"] == "hangup" for c in kept)
    for call in lost:  # what reached the disk before the crash stays playable
        recording = hub.data_dir / "recordings" / str(call["recording_path"])
        with wave.open(str(recording)) as wav:
            assert wav.getnchannels() == 2 and wav.getnframes() / wav.getframerate() > 1.0

    def restarted() -> bool:
        worker = next(w for w in hub.health()["parts"]["workers"] if w["index"] == victim)
        return bool(worker["alive"] and worker["connected"] and worker["restarts"] == 1)

    hub.wait_for("the worker restarted", restarted, timeout=20)
    again = {c["id"] for c in hub.calls()}
    for i in range(5):  # round-robin reaches the restarted worker within a few calls
        proc = place_test_call(uri, hangup_after=1.0, caller=f"1370000000{i}")
        assert caller_outcome(proc)["answered"]
    calls = hub.wait_calls_finished(5, since=again)
    assert any(c["worker"] == victim and c["status"] == "ended" for c in calls)
