"""What live call audio costs on the worker → hub IPC (unix stream socket, tingyin.telephony.ipc).

    .venv/bin/python bench/ipc_cost.py --streams 100 --seconds 10

A worker process (the real WorkerLink) streams S calls' audio the way a media worker does: per
call one frame every 100 ms holding both legs (2 x 1600 bytes of 8 kHz 16-bit PCM). The hub side
(the real HubListener on asyncio) receives them. Prints the CPU both sides spend per streamed
call, and the delivery delay (send → hub callback) percentiles. Then a burst shows the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import struct
import tempfile
import time
from pathlib import Path

from tingyin.telephony.ipc import HubListener, WorkerLink

CHUNK = 1600  # 100 ms of one leg
STAMP = struct.Struct("<q")


def worker_main(path: str, streams: int, seconds: float, burst: int) -> None:
    link = WorkerLink(Path(path), 0, on_command=lambda _c: None, max_queued=100_000)
    link.start()
    ids = [f"{i:032x}" for i in range(streams)]
    pad = bytes(CHUNK - STAMP.size)
    right = bytes(CHUNK)
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:  # paced: every stream, every 100 ms
        for call_id in ids:
            link.send_audio(call_id, 0, STAMP.pack(time.monotonic_ns()) + pad, right)
        tick += 1
        time.sleep(max(0.0, start + tick * 0.1 - time.monotonic()))
    paced_cpu = _cpu()
    time.sleep(0.5)
    link.send_audio("f" * 32, 0, STAMP.pack(0) + pad, right)  # marks the burst's start
    for _ in range(burst):
        link.send_audio(ids[0], 0, STAMP.pack(-1) + pad, right)
    link.close(timeout=30)
    print(f"worker cpu while paced  {paced_cpu:.3f} s", flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def hub_main(streams: int, seconds: float, burst: int) -> None:
    delays: list[float] = []
    burst_seen = 0
    burst_start = 0.0
    marks: dict[str, float] = {}

    def on_audio(call_id: str, _offset: int, left: bytes, _right: bytes) -> None:
        nonlocal burst_seen, burst_start
        (sent,) = STAMP.unpack_from(left)
        if sent > 0:
            delays.append((time.monotonic_ns() - sent) / 1e6)
        elif call_id == "f" * 32:
            burst_start = time.monotonic()
            marks["paced_cpu"] = _cpu()
        else:
            burst_seen += 1
            if burst_seen == burst:
                marks["burst_s"] = time.monotonic() - burst_start

    with tempfile.TemporaryDirectory() as tmp:
        listener = HubListener(Path(tmp) / "hub.sock", lambda _w, _e: None, on_audio)
        await listener.start()
        cpu0 = _cpu()
        proc = mp.get_context("spawn").Process(
            target=worker_main, args=(str(listener.path), streams, seconds, burst)
        )
        proc.start()
        while proc.is_alive():
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        await listener.stop()

    delays.sort()
    frames = len(delays)

    def pct(p: float) -> float:
        return delays[min(frames - 1, int(p * frames))] if frames else float("nan")

    hub_cpu = marks.get("paced_cpu", _cpu()) - cpu0
    print(f"streams (calls)         {streams} for {seconds:.0f} s, one 100 ms frame per call")
    print(f"frames delivered        {frames} of {streams * int(seconds * 10)} expected")
    print(f"hub cpu while paced     {hub_cpu:.3f} s = {100 * hub_cpu / seconds:.1f} % of a core")
    print(f"hub cpu per call        {100 * hub_cpu / seconds / streams:.3f} % of a core")
    print(f"delay ms p50/p99/max    {pct(0.5):.2f} / {pct(0.99):.2f} / {pct(1.0):.2f}")
    if "burst_s" in marks:
        rate = burst / marks["burst_s"]
        print(f"burst ceiling           {rate:,.0f} frames/s = {rate / 10:,.0f} calls' audio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=50_000)
    args = parser.parse_args()
    asyncio.run(hub_main(args.streams, args.seconds, args.burst))


if __name__ == "__main__":
    main()
