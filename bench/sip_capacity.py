"""SIP capacity: N concurrent recorded calls through Kamailio, with audio, on this machine.

    .venv/bin/python bench/sip_capacity.py --calls 100

Starts ``tingyin serve`` (ceil(N/4) + 1 media workers), places N SIPp calls (G.711 A-law speech,
~24 s each, ramped in over --ramp seconds), samples the CPU of the whole process tree while all
calls are up, and prints: calls held at once, answered/recorded counts, CPU per call, and lost
frames (dropped from a tap's queue, or arriving over 40 ms late) summed over every leg.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

SCENARIO = Path(__file__).with_name("sipp") / "uac_pcap_long.xml"
PASSWORD = "bench-password-1"


def start_hub(data_dir: Path, workers: int) -> tuple[subprocess.Popen[str], str, int, str]:
    # check=False: fails harmlessly when a reused data directory has the user already.
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "users", "add", "bench", "--role", "admin",
         "--data-dir", str(data_dir)],
        input=PASSWORD + "\n", text=True, check=False, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingyin.cli", "serve", "--data-dir", str(data_dir),
         "--sip-port", "0", "--http-port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=(data_dir / "hub.log").open("w"), text=True,
        env=dict(os.environ, TINGYIN_LOG_LEVEL="WARNING"),
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
            if line.startswith("ready "):
                parts = dict(p.split("=", 1) for p in line.split()[1:])
                host, port = parts["sip"].rsplit(":", 1)
                return proc, host, int(port), parts["http"]
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"hub did not start:\n{(data_dir / 'hub.log').read_text()[-3000:]}")


def tree_cpu_seconds(root: psutil.Process, extra: list[psutil.Process]) -> float:
    total = 0.0
    for proc in [root, *root.children(recursive=True), *extra]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--ramp", type=float, default=8.0, help="seconds to start all calls")
    args = parser.parse_args()
    workers = math.ceil(args.calls / 4) + 1
    work = Path(tempfile.mkdtemp(prefix="tingyin-bench-"))
    hub, host, port, http = start_hub(work / "data", workers)
    api = httpx.Client(base_url=http, timeout=30)
    token = api.post("/api/auth/token", data={"username": "bench", "password": PASSWORD})
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    print(f"hub up with {workers} workers; placing {args.calls} calls over {args.ramp:.0f} s")

    sipp = subprocess.Popen(
        ["sipp", f"{host}:{port}", "-sf", str(SCENARIO), "-s", "4008001234", "-i", "127.0.0.1",
         "-p", "0", "-m", str(args.calls), "-l", str(args.calls),
         "-r", str(max(1, round(args.calls / args.ramp))), "-nostdin", "-timeout", "180s"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    sipp_ps = psutil.Process(sipp.pid)
    root = psutil.Process(hub.pid)
    held_max, samples = 0, []
    cpu_prev, t_prev = tree_cpu_seconds(root, []), time.monotonic()
    sipp_prev = sum(sipp_ps.cpu_times()[:2])
    while sipp.poll() is None:
        time.sleep(1.0)
        health = api.get("/api/health").json()["parts"]
        held = sum(w["calls"] for w in health["workers"])
        cpu_now, t_now = tree_cpu_seconds(root, []), time.monotonic()
        try:
            sipp_now = sum(sipp_ps.cpu_times()[:2])
        except psutil.NoSuchProcess:
            sipp_now = sipp_prev
        if held >= max(1, int(0.9 * args.calls)):
            samples.append(
                (
                    held,
                    (cpu_now - cpu_prev) / (t_now - t_prev),
                    (sipp_now - sipp_prev) / (t_now - t_prev),
                )
            )
        held_max = max(held_max, held)
        cpu_prev, t_prev, sipp_prev = cpu_now, t_now, sipp_now
    time.sleep(2.0)
    calls: list[dict[str, Any]] = api.get("/api/calls", params={"limit": 500}).json()
    hub.send_signal(signal.SIGTERM)
    hub.wait(30)

    answered = sum(1 for c in calls if c["answered_at"])
    recorded = sum(1 for c in calls if (c["recording_seconds"] or 0) > 20)
    legs = [leg for c in calls for leg in (c.get("legs") or [])]
    dropped = sum(leg["dropped_frames"] for leg in legs)
    late = sum(leg["late_frames"] for leg in legs)
    frames = sum(leg["frames"] + leg["empty_frames"] for leg in legs)
    max_gap = max((leg["max_gap_ms"] for leg in legs), default=0.0)
    print(f"calls placed           {args.calls} (SIPp exit {sipp.returncode})")
    print(f"calls answered         {answered}")
    print(f"calls recorded > 20 s  {recorded}")
    print(f"held at once (max)     {held_max}")
    if samples:
        held_avg = sum(s[0] for s in samples) / len(samples)
        cpu_avg = sum(s[1] for s in samples) / len(samples)
        sipp_avg = sum(s[2] for s in samples) / len(samples)
        print(
            f"cpu, tingyin tree      {cpu_avg * 100:.0f} % of one core "
            f"with {held_avg:.0f} calls up ({len(samples)} s sampled)"
        )
        print(f"cpu per call           {cpu_avg * 100 / held_avg:.2f} % of one core")
        print(f"cpu, SIPp (the load)   {sipp_avg * 100:.0f} % of one core")
    print(f"frames seen            {frames}")
    print(
        f"lost frames            dropped {dropped}, late (>40 ms gap) {late}; "
        f"max gap {max_gap:.0f} ms"
    )
    print(f"data                   {work}")


if __name__ == "__main__":
    main()
