"""Mouth-to-ear delay through the browser softphone bridge, against a SIP agent phone.

    .venv/bin/python bench/softphone.py                # 20 s of tone bursts each way
    .venv/bin/python bench/softphone.py --seconds 40

Starts ``tingyin serve`` (IVR on, live transcription off, the softphone's ICE pinned to
127.0.0.1) and runs the same call twice:

1. **SIP agent phone** (the baseline): a pjsua2 customer presses 0 and is routed to a pjsua2
   agent phone process; both play 100 ms 1 kHz tone bursts once a second and record what they
   hear.
2. **Browser agent**: the agent is the headless softphone (aiortc, ``tingyin.softphone.probe``,
   doing what the desk page does) over WebRTC (PCMU) to the hub, the hub's jitter buffer, IPC to
   the customer's media worker and its browser port on the conference bridge.

Each burst is timed on CLOCK_MONOTONIC, which every process on the machine shares: when its
first sample left the sender (the pjsua2 player's start + its offset; the probe's microphone
frame) and when its onset arrived (the pjsua2 recorder's start + the sample index; the probe's
decoded frame). The difference browser − SIP is the delay the browser bridge adds one way; the
target is ≤ 150 ms. Both runs include the customer's own pjsua2 jitter buffer and bridge.
A real browser replaces aiortc's receive jitter buffer with Chromium's (~40 ms here,
BROWSER_AUDIO_NOTES), so treat the browser figure as a close estimate, not a measurement of
Chromium itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from sip_capacity import start_hub

from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.probe import HeadlessSoftphone

RATE = 8000
PERIOD_S = 1.0
BURST_S = 0.1
PASSWORD = "bench-agent-pass-1"
TARGET_MS = 150.0


def bursts(seconds: float) -> npt.NDArray[np.int16]:
    """A 100 ms 1 kHz burst at the start of every second."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    gate = (t % PERIOD_S) < BURST_S
    return (np.sin(2 * np.pi * 1000 * t) * gate * 12000).astype(np.int16)


def write_wav(path: Path, pcm: npt.NDArray[np.int16]) -> None:
    import wave

    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    import wave

    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def onsets(pcm: npt.NDArray[np.int16], start: float, threshold: float = 2000.0) -> list[float]:
    """Monotonic times of burst onsets in ``pcm`` whose first sample was at ``start``: the
    first 2.5 ms block louder than ``threshold`` after at least 300 ms of quiet."""
    block = RATE // 400
    usable = len(pcm) // block * block
    rms = np.sqrt((pcm[:usable].astype(np.float64).reshape(-1, block) ** 2).mean(axis=1))
    found, quiet = [], 0
    for i, value in enumerate(rms):
        if value > threshold and quiet * block >= 0.3 * RATE:
            found.append(start + i * block / RATE)
        quiet = 0 if value > threshold else quiet + 1
    return found


def delays_ms(sent_start: float, arrivals: list[float]) -> list[float]:
    """Each arrival against the burst it belongs to (bursts every second from ``sent_start``;
    a delay under a second is unambiguous)."""
    out = []
    for at in arrivals:
        k = int((at - sent_start) // PERIOD_S)
        if k >= 0:
            out.append((at - (sent_start + k * PERIOD_S)) * 1000)
    return out


def ear_times(heard: list[tuple[float, bytes]], offsets: list[float]) -> list[float]:
    """Monotonic times at which the samples ``offsets`` seconds into ``heard`` (chunks of
    8 kHz PCM with their arrival times) were playable: a chunk is playable when it arrives,
    its samples play one after the other."""
    ends = np.cumsum([len(pcm) // 2 for _, pcm in heard])
    out = []
    for offset in offsets:
        index = round(offset * RATE)
        chunk = min(int(np.searchsorted(ends, index, side="right")), len(heard) - 1)
        first = int(ends[chunk - 1]) if chunk else 0
        out.append(heard[chunk][0] + (index - first) / RATE)
    return out


def caller(uri: str, play: Path, record: Path, seconds: float, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tingyin.telephony.test_caller", uri, "--caller", "13900001111",
         "--play", str(play), "--record", str(record), "--press", "1.5:0",
         "--hangup-after", str(seconds), "--timeout", str(seconds + 60),
         "--rtp-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def callee(port: int, play: Path, record: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingyin.telephony.test_caller", "--answer-on", str(port),
         "--play", str(play), "--record", str(record), "--hangup-after", "0",
         "--timeout", str(seconds + 60), "--rtp-port", str(port + 1000)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith('{"listening"'):
            return proc
    raise SystemExit("the agent phone did not start")


def outcome(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=120)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "tingyin.cli", *args, "--data-dir", str(data_dir)],
                   input=stdin, text=True, check=True, capture_output=True)  # fmt: skip


def ready(http: str, user: str) -> None:
    auth = {"Authorization": f"Bearer {login(http, user)}"}
    reply = httpx.post(f"{http}/api/agents/me/state", json={"state": "ready"}, headers=auth)
    reply.raise_for_status()


def login(http: str, user: str) -> str:
    reply = httpx.post(f"{http}/api/auth/token", data={"username": user, "password": PASSWORD},
                       timeout=10)  # fmt: skip
    reply.raise_for_status()
    token: str = reply.json()["access_token"]
    return token


def run_sip(uri: str, http: str, data_dir: Path, seconds: float) -> dict[str, list[float]]:
    port = 35000 + os.getpid() % 1000
    cli(data_dir, "agents", "set", "bench-sip", "--phone", f"sip:agent@127.0.0.1:{port}",
        "--lines", "customer")  # fmt: skip
    tmp = data_dir / "bench-sip"
    tmp.mkdir(exist_ok=True)
    write_wav(tmp / "tones.wav", bursts(seconds + 5))
    agent = callee(port, tmp / "tones.wav", tmp / "agent-heard.wav", seconds)
    ready(http, "bench-sip")
    customer = caller(uri, tmp / "tones.wav", tmp / "customer-heard.wav", seconds, port + 2000)
    c, a = outcome(customer), outcome(agent)
    cli(data_dir, "agents", "set", "bench-sip", "--phone", "")
    return {
        "customer → agent": delays_ms(c["clock"]["playing_at"], onsets(
            read_wav(tmp / "agent-heard.wav"), a["clock"]["recording_at"])),
        "agent → customer": delays_ms(a["clock"]["playing_at"], onsets(
            read_wav(tmp / "customer-heard.wav"), c["clock"]["recording_at"])),
    }  # fmt: skip


async def run_browser(uri: str, http: str, data_dir: Path, seconds: float) -> dict[str, Any]:
    cli(data_dir, "agents", "set", "bench-web", "--phone", "browser", "--lines", "customer")
    tmp = data_dir / "bench-web"
    tmp.mkdir(exist_ok=True)
    write_wav(tmp / "tones.wav", bursts(seconds + 5))
    phone = HeadlessSoftphone()
    await phone.connect(http, login(http, "bench-web"))
    await phone.wait_state("idle", 10)
    ready(http, "bench-web")
    customer = caller(uri, tmp / "tones.wav", tmp / "customer-heard.wav", seconds, 37000)
    await phone.wait_state("ringing", 60)
    await phone.send("answer_call")
    await phone.wait_state("talking", 10)
    phone.mic.play(bursts(seconds))
    c = await asyncio.to_thread(outcome, customer)
    ear = ear_times(phone.heard, onsets(phone.heard_pcm(), 0.0))
    await phone.close()
    sent = phone.mic.clip_started_at or 0.0
    return {
        "customer → agent": delays_ms(c["clock"]["playing_at"], ear),
        "agent → customer": delays_ms(sent, onsets(
            read_wav(tmp / "customer-heard.wav"), c["clock"]["recording_at"])),
    }  # fmt: skip


def summary(values: list[float]) -> str:
    if not values:
        return "no bursts found"
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    return f"p50 {statistics.median(values):6.1f}  p90 {p90:6.1f}  n={len(values)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="tone bursts per call")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.update({
        "TINGYIN_ASR__ENABLED": "false",
        "TINGYIN_SOFTPHONE__ICE_ADDRESSES": '["127.0.0.1"]',
    })  # fmt: skip
    pin_host_addresses(["127.0.0.1"])
    with tempfile.TemporaryDirectory(prefix="tingyin-bench-softphone-") as tmp:
        data_dir = Path(tmp)
        for user in ("bench-sip", "bench-web"):
            cli(data_dir, "users", "add", user, "--role", "agent", stdin=PASSWORD + "\n")
        proc, host, port, http = start_hub(data_dir, args.workers)
        uri = f"sip:4008001234@{host}:{port}"
        try:
            sip = run_sip(uri, http, data_dir, args.seconds)
            time.sleep(3)  # the first agent's wrap-up; the customer line is free again
            web = asyncio.run(run_browser(uri, http, data_dir, args.seconds))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"mouth-to-ear delay, ms (tone bursts, {args.seconds:.0f} s per call, loopback)")
    for direction in ("customer → agent", "agent → customer"):
        print(f"  {direction}")
        print(f"    SIP agent phone   {summary(sip[direction])}")
        print(f"    browser agent     {summary(web[direction])}")
        if sip[direction] and web[direction]:
            added = statistics.median(web[direction]) - statistics.median(sip[direction])
            verdict = "ok" if added <= TARGET_MS else "OVER TARGET"
            print(f"    added by the browser bridge (p50): {added:6.1f}  "
                  f"(target ≤ {TARGET_MS:.0f}) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
