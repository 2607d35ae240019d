"""Listen-in delay: a call's audio → a supervisor listening in, per burst (issue 8).

    .venv/bin/python bench/listen_in.py                  # one listener, 20 s of bursts
    .venv/bin/python bench/listen_in.py --listeners 3    # three supervisors on the same call
    .venv/bin/python bench/listen_in.py --json

Starts ``tingyin serve`` (IVR on, live transcription off, the softphone's ICE pinned to
127.0.0.1; everything on loopback, no STUN) and places one real call: a pjsua2 customer presses 0
and is routed to a pjsua2 agent phone. The customer plays a 100 ms 1 kHz burst at the start of
every second, the agent a 2 kHz burst half a second into each of its seconds; the two tones are
told apart in what the supervisor hears, so each leg is timed on its own. Once the agent is on
the call, ``--listeners`` supervisors join it in listen mode and listen for ``--seconds``.

Each burst is timed on CLOCK_MONOTONIC, which every process on the machine shares: sent = the
pjsua2 player's start + the burst's offset in its file; heard = when the decoded frame holding
its onset arrived at the listener (+ the onset's place in that frame). The issue asks from "RTP
arriving at the server": on loopback the packet crosses to the media worker in microseconds,
but it leaves the sender only once its 20 ms frame is complete (and after the sender's bridge
tick), so these figures include up to ~20–40 ms before the server sees the packet: they
overstate the server's share, never understate it. Target: median and p95 ≤ 300 ms.

Listener kinds are functions (``KINDS``): ``browser`` is the headless softphone
(``tingyin.softphone.probe``, aiortc over WebRTC, PCMU, what the supervisor's page does);
``sip`` is a pjsua2 supervisor phone dialling the feature code *1 + the agent's extension, timed
by its recorder (start + sample index). Kamailio spreads INVITEs round robin, so with two
workers and two SIP listeners one lands on the call's own worker (its audio joins the bridge
directly) and the other on the other worker (the hub relays the call's PCM): each listener's
line says which (``path``, from the audit log), which compares routing with relaying.

    .venv/bin/python bench/listen_in.py --kind sip --listeners 2

``stereo`` is the room's stereo option, ``/ws/calls/{id}/audio`` (the recording's taps, caller
left and agent right, in ~100 ms messages; listen only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import websockets
from sip_capacity import PASSWORD as ADMIN_PASSWORD
from sip_capacity import start_hub
from softphone import (
    BURST_S,
    PASSWORD,
    PERIOD_S,
    RATE,
    callee,
    caller,
    cli,
    ear_times,
    login,
    outcome,
    ready,
    write_wav,
)

from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.probe import HeadlessSoftphone

TARGET_MS = 300.0
AGENT = "bench-agent"
# (tone Hz, burst offset in each second): both whole cycles in the 5 ms analysis window, so
# each tone's detector is blind to the other.
TONES = {"customer": (1000.0, 0.0), "agent": (2000.0, 0.5)}
SETUP_S = 10.0  # answer → press 0 → agent rings and answers → supervisors joined, with room
WINDOW = 40  # 5 ms at 8 kHz


@dataclass
class Heard:
    """What one listener heard: chunks of 8 kHz PCM with the monotonic time each became
    playable, and the window in which it was on the call."""

    chunks: list[tuple[float, bytes]]
    joined: float
    left: float
    path: str = ""  # a SIP phone's: same-worker | relayed


@dataclass
class Listening:
    """What a listener needs: the hub, whose call to join (resolved once the agent is on it)
    and for how long."""

    http: str
    agent: str
    call_id: asyncio.Future[str]
    seconds: float
    sip_uri: str = ""  # the front door (Kamailio), for SIP listeners


ListenerKind = Callable[[Listening, str], Coroutine[Any, Any, Heard]]


async def browser(ctx: Listening, user: str) -> Heard:
    """A supervisor's page: the headless softphone sends ``monitor`` in listen mode."""
    phone = HeadlessSoftphone()
    await phone.connect(ctx.http, await asyncio.to_thread(login, ctx.http, user))
    await phone.wait_state("idle", 10)  # connected before the call, as a page would be
    try:
        await phone.send("monitor", call_id=await ctx.call_id, mode="listen")
        await phone.wait_state("monitoring", 10)
        joined = time.monotonic()
        try:
            await phone.wait_state("idle", ctx.seconds)  # the call ended early
        except TimeoutError:
            await phone.send("hangup")  # leave; the call goes on
            await phone.wait_state("idle", 10)
        return Heard(phone.heard, joined, time.monotonic())
    finally:
        await phone.close()


async def sip(ctx: Listening, user: str) -> Heard:
    """A supervisor's SIP phone: dials *1 + the agent's extension, records what it hears."""
    number = SIP_NUMBERS[user]
    call_id = await ctx.call_id
    heard_file = Path(tempfile.gettempdir()) / f"tingyin-listen-{os.getpid()}-{number}.wav"
    phone = subprocess.Popen(
        [sys.executable, "-m", "tingyin.telephony.test_caller", ctx.sip_uri.replace(
            "4008001234", f"*1{AGENT_EXTENSION}"), "--caller", number,
         "--record", str(heard_file), "--hangup-after", str(ctx.seconds),
         "--timeout", str(ctx.seconds + 60)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    result = await asyncio.to_thread(outcome, phone)
    if not result.get("answered"):
        raise RuntimeError(f"the supervisor's phone was not answered: {result}")
    with wave.open(str(heard_file), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    heard_file.unlink(missing_ok=True)
    start = float(result["clock"]["recording_at"])
    path = await asyncio.to_thread(_sip_path, ctx.http, user, call_id)
    return Heard([(start, pcm)], start, start + len(pcm) / 2 / RATE, path)


def _sip_path(http: str, user: str, call_id: str) -> str:
    token = httpx.post(f"{http}/api/auth/token", timeout=10,
                       data={"username": "bench", "password": ADMIN_PASSWORD}).json()  # fmt: skip
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    rows = httpx.get(f"{http}/api/audit", params={"action": "call.monitor"}, headers=auth,
                     timeout=10).json()  # fmt: skip
    for row in rows:
        if row["username"] == user and row["object_id"] == call_id:
            return str(row["detail"].get("path", ""))
    return ""


async def stereo(ctx: Listening, user: str) -> Heard:
    """The room's stereo option: ``/ws/calls/{id}/audio`` (caller left, agent right, ~100 ms
    binary messages, each playable when it arrives); both channels mixed here, since the two
    legs' tones are told apart by frequency anyway."""
    token = await asyncio.to_thread(login, ctx.http, user)
    url = ctx.http.replace("http://", "ws://", 1) + f"/ws/calls/{await ctx.call_id}/audio"
    chunks: list[tuple[float, bytes]] = []
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        await ws.recv()  # the format message
        joined = time.monotonic()
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            async with asyncio.timeout(ctx.seconds):
                async for message in ws:
                    if isinstance(message, bytes):
                        pcm = np.frombuffer(message, dtype="<i2").reshape(-1, 2).astype(np.int32)
                        mixed = (pcm.sum(axis=1) // 2).astype("<i2").tobytes()
                        chunks.append((time.monotonic(), mixed))
    return Heard(chunks, joined, time.monotonic())


KINDS: dict[str, ListenerKind] = {"browser": browser, "sip": sip, "stereo": stereo}
AGENT_EXTENSION = "8101"
SIP_NUMBERS = {f"bench-sup-{i}": f"{2000 + i}" for i in range(1, 10)}


def tone_bursts(seconds: float, hz: float, offset: float) -> npt.NDArray[np.int16]:
    t = np.arange(int(seconds * RATE)) / RATE
    gate = ((t - offset) % PERIOD_S < BURST_S) & (t >= offset)
    return (np.sin(2 * np.pi * hz * t) * gate * 12000).astype(np.int16)


def tone_onsets(pcm: npt.NDArray[np.int16], hz: float, threshold: float = 3000.0) -> list[float]:
    """Seconds into ``pcm`` at which bursts of ``hz`` begin. The tone's amplitude over a
    centred 5 ms window crosses half the burst's peak at its onset; a burst is one that rises
    above ``threshold`` after at least 300 ms below it."""
    x = pcm.astype(np.float64) * np.exp(-2j * np.pi * hz * np.arange(len(pcm)) / RATE)
    level = np.abs(np.convolve(x, np.ones(WINDOW), "same")) * 2 / WINDOW
    found: list[float] = []
    last = -RATE
    for i in np.flatnonzero(level > threshold).tolist():
        if i - last >= 0.3 * RATE:
            burst = level[i : i + int(BURST_S * RATE)]
            found.append((i + int(np.argmax(burst >= burst.max() / 2))) / RATE)
        last = i
    return found


def leg_delays(heard: Heard, hz: float, first_burst: float) -> tuple[list[float], int]:
    """Delays (ms) of the bursts sent while the listener was on the call (one sent before it
    joined is cut by the wiring, not heard from its onset), and how many were sent then, up to
    0.5 s before it left. Bursts come once a second, so a delay under a second is unambiguous."""
    pcm = np.frombuffer(b"".join(chunk for _, chunk in heard.chunks), dtype="<i2")
    first = math.ceil((heard.joined - first_burst) / PERIOD_S)
    last = math.floor((heard.left - 0.5 - first_burst) / PERIOD_S)
    delays = []
    for at in ear_times(heard.chunks, tone_onsets(pcm, hz)):
        k = math.floor((at - first_burst) / PERIOD_S)
        if first <= k <= last:
            delays.append((at - first_burst - k * PERIOD_S) * 1000)
    return delays, max(0, last - first + 1)


def stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(values)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ordered[-1], 1)}  # fmt: skip


async def agent_call(http: str, supervisor: str, timeout: float) -> str:
    """The call id once the agent is talking on it."""
    auth = {"Authorization": f"Bearer {await asyncio.to_thread(login, http, supervisor)}"}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=http, headers=auth, timeout=10) as api:
        while time.monotonic() < deadline:
            agents = (await api.get("/api/agents")).json()
            me = next(a for a in agents if a["username"] == AGENT)
            if me.get("state") == "on_call" and me.get("call_id"):
                return str(me["call_id"])
            await asyncio.sleep(0.1)
    raise TimeoutError("the agent never got the call")


async def measure(uri: str, http: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    tmp = data_dir / "bench-listen"
    tmp.mkdir(exist_ok=True)
    length = args.seconds + SETUP_S + 20  # the files outlast the call
    for leg, (hz, offset) in TONES.items():
        write_wav(tmp / f"{leg}.wav", tone_bursts(length, hz, offset))
    port = 36000 + os.getpid() % 1000
    cli(data_dir, "agents", "set", AGENT, "--phone", f"sip:agent@127.0.0.1:{port}",
        "--lines", "customer", "--extension", AGENT_EXTENSION)  # fmt: skip
    agent = await asyncio.to_thread(
        callee, port, tmp / "agent.wav", tmp / "agent-heard.wav", args.seconds + SETUP_S
    )
    ready(http, AGENT)
    users = [f"bench-sup-{i}" for i in range(1, args.listeners + 1)]
    ctx = Listening(http, AGENT, asyncio.get_running_loop().create_future(), args.seconds, uri)
    tasks = [asyncio.create_task(KINDS[args.kind](ctx, user)) for user in users]
    customer = caller(uri, tmp / "customer.wav", tmp / "customer-heard.wav",
                      args.seconds + SETUP_S, port + 2000)  # fmt: skip
    try:
        ctx.call_id.set_result(await agent_call(http, users[0], 60))
        heard = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        played = {"customer": await asyncio.to_thread(outcome, customer),
                  "agent": await asyncio.to_thread(outcome, agent)}  # fmt: skip
    legs: dict[str, Any] = {}
    for leg, (hz, offset) in TONES.items():
        first_burst = played[leg]["clock"]["playing_at"] + offset
        per = [leg_delays(h, hz, first_burst) for h in heard]
        pooled = [d for delays, _ in per for d in delays]
        legs[leg] = stats(pooled) | {
            "bursts": len(pooled),
            "bursts_sent": sum(sent for _, sent in per),
            "per_listener_median_ms": [stats(d)["median_ms"] for d, _ in per],
            "per_listener_path": [h.path for h in heard],
        }
        legs[leg]["ok"] = all(
            legs[leg][k] is not None and legs[leg][k] <= TARGET_MS for k in ("median_ms", "p95_ms")
        )
    return {"kind": args.kind, "seconds": args.seconds, "listeners": args.listeners,
            "target_ms": TARGET_MS, "legs": legs}  # fmt: skip


def report(result: dict[str, Any]) -> None:
    print(f"listen-in delay, ms: a burst sent → heard by the supervisor ({result['kind']}; "
          f"{result['seconds']:.0f} s, {result['listeners']} listener(s), loopback)")  # fmt: skip
    print(f"  {'leg':<22}{'bursts':>11}{'median':>8}{'p95':>8}{'max':>8}   target ≤ 300")
    for leg, row in result["legs"].items():
        figures = "".join(f"{row[k]:8.1f}" if row[k] is not None else "       -"
                          for k in ("median_ms", "p95_ms", "max_ms"))  # fmt: skip
        counted = f"{row['bursts']}/{row['bursts_sent']}"
        print(f"  {leg + ' → supervisor':<22}{counted:>11}{figures}   "
              f"{'ok' if row['ok'] else 'OVER TARGET'}")  # fmt: skip
        if result["listeners"] > 1 or result["kind"] == "sip":
            medians = " / ".join(
                (f"{m:.1f}" if m is not None else "-") + (f" ({path})" if path else "")
                for m, path in zip(row["per_listener_median_ms"], row["per_listener_path"],
                                   strict=True)
            )  # fmt: skip
            print(f"    median per listener: {medians}")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each listens")
    parser.add_argument("--listeners", type=int, default=1, help="supervisors on the call")
    parser.add_argument("--kind", choices=sorted(KINDS), default="browser")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    os.environ.update({
        "TINGYIN_ASR__ENABLED": "false",
        "TINGYIN_SOFTPHONE__ICE_ADDRESSES": '["127.0.0.1"]',
    })  # fmt: skip
    pin_host_addresses(["127.0.0.1"])
    with tempfile.TemporaryDirectory(prefix="tingyin-bench-listen-") as tmp:
        data_dir = Path(tmp)
        cli(data_dir, "users", "add", AGENT, "--role", "agent", stdin=PASSWORD + "\n")
        for i in range(1, args.listeners + 1):
            cli(data_dir, "users", "add", f"bench-sup-{i}", "--role", "supervisor",
                stdin=PASSWORD + "\n")  # fmt: skip
            if args.kind == "sip":  # the phone is known by its number
                cli(data_dir, "agents", "set", f"bench-sup-{i}", "--extension", f"{2000 + i}")
        proc, host, port, http = start_hub(data_dir, args.workers)
        try:
            result = asyncio.run(measure(f"sip:4008001234@{host}:{port}", http, data_dir, args))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        report(result)


if __name__ == "__main__":
    main()
