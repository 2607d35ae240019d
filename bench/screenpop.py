"""Screen-pop latency: INVITE received → caller context delivered on an agent's websocket.

    .venv/bin/python bench/screenpop.py                      # 1 000 000 orders, 300 calls
    .venv/bin/python bench/screenpop.py --orders 100000 --calls 100
    .venv/bin/python bench/screenpop.py --data-dir /tmp/pop  # seed once, reuse on later runs

Seeds ``--orders`` orders (``tingyin.screenpop.seed.generate_orders``: realistic customers,
stores, riders, timelines) into a SQLite data directory, starts ``tingyin serve`` on it with
live transcription off (so ASR does not share the CPU with what is measured), logs in one
agent on ``/ws/events`` and places ``--calls`` SIPp calls at ``--rate`` per second, each from a
different seeded customer who has orders in the last 30 days (an injection file feeds the
numbers). For every call:

- ``invite→pop``: the agent's socket receiving ``CallerContextReady`` minus ``CallRinging.at``
  (stamped by the media worker when the INVITE reached pjsua2; same machine, same clock);
- ``lookup``: the context builder's own time (``lookup_ms`` in the event: number
  normalisation, privacy-number binding, party and order queries, anomalies, rules, call
  history), which the rest (bus, IPC, JSON, websocket) adds to.

Prints p50/p90/p99/max and the share of calls that popped before they were answered.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sip_capacity import PASSWORD, start_hub
from sqlalchemy import select
from websockets.sync.client import connect

from tingyin.config import load_settings
from tingyin.screenpop.seed import generate_orders
from tingyin.store import Database
from tingyin.store.models import Customer, Order

SCENARIO = Path(__file__).with_name("sipp") / "caller_inf.xml"


def seed(data_dir: Path, orders: int) -> Database:
    db = Database(load_settings(data_dir=data_dir).resolved_database_url)
    db.migrate()
    with db.session() as session:
        have = session.query(Order).count()
    if have < orders:
        started = time.perf_counter()
        generate_orders(db, orders - have, now=datetime.now(UTC), seed=have)
        print(f"seeded {orders - have} orders in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing {have} seeded orders in {data_dir}")
    return db


def caller_numbers(db: Database, calls: int, seed: int) -> list[str]:
    """National numbers of customers with orders in the last 30 days, in random order."""
    since = datetime.now(UTC) - timedelta(days=30)
    with db.session() as session:
        phones = session.scalars(
            select(Customer.phone)
            .join(Order, Order.customer_id == Customer.id)
            .where(Order.placed_at >= since)
            .distinct()
            .limit(calls * 20)
        ).all()
    numbers = [p.removeprefix("+86") for p in phones if p.startswith("+86")]
    random.Random(seed).shuffle(numbers)
    if len(numbers) < calls:
        raise SystemExit(f"only {len(numbers)} customers with recent orders; seed more orders")
    return numbers[:calls]


class Collector:
    def __init__(self, http_url: str, token: str) -> None:
        url = http_url.replace("http://", "ws://") + f"/ws/events?token={token}"
        self.ws = connect(url, open_timeout=10, max_size=None)
        self.ringing: dict[str, datetime] = {}
        self.answered: dict[str, float] = {}
        self.popped: dict[str, tuple[float, float]] = {}  # call → (received, lookup_ms)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for message in self.ws:
                received = time.time()
                event: dict[str, Any] = json.loads(message)
                kind, call_id = event.get("type"), event.get("call_id", "")
                if kind == "CallRinging":
                    self.ringing[call_id] = datetime.fromisoformat(event["at"])
                elif kind == "CallAnswered":
                    self.answered[call_id] = received
                elif kind == "CallerContextReady" and event.get("revision") == 1:
                    self.popped[call_id] = (received, float(event["lookup_ms"]))
        except Exception:  # the socket closed at the end of the run
            pass


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="calls started per second")
    parser.add_argument("--hold-ms", type=int, default=500, help="each call's length after answer")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--data-dir", type=Path, default=None, help="kept; reused when re-run")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tingyin-bench-pop-")) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    db = seed(data_dir, args.orders)
    numbers = caller_numbers(db, args.calls, seed=args.calls)
    db.dispose()
    inf = data_dir / "numbers.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{n}\n" for n in numbers))

    os.environ["TINGYIN_ASR__ENABLED"] = "false"
    proc, host, port, http_url = start_hub(data_dir, args.workers)
    try:
        token = httpx.post(
            f"{http_url}/api/auth/token", data={"username": "bench", "password": PASSWORD}
        ).json()["access_token"]
        collector = Collector(http_url, token)
        started = time.monotonic()
        result = subprocess.run(
            ["sipp", "-nostdin", f"{host}:{port}", "-sf", str(SCENARIO), "-s", "4008001234",
             "-inf", str(inf), "-i", "127.0.0.1", "-p", "0", "-m", str(args.calls),
             "-r", str(args.rate), "-l", str(4 * args.workers), "-d", str(args.hold_ms),
             "-timeout", f"{int(args.calls / args.rate) + 60}s", "-trace_err",
             "-error_file", str(data_dir / "sipp.err")],
            cwd=data_dir, capture_output=True, text=True,
        )  # fmt: skip
        time.sleep(1.0)
        elapsed = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(30)
    if result.returncode != 0:
        print(f"SIPp exit {result.returncode}: some calls failed\n{result.stderr[-1500:]}")

    latency, lookup, early = [], [], 0
    for call_id, (received, lookup_ms) in collector.popped.items():
        if call_id not in collector.ringing:
            continue
        latency.append((received - collector.ringing[call_id].timestamp()) * 1000)
        lookup.append(lookup_ms)
        early += call_id in collector.answered and received < collector.answered[call_id]
    if not latency:
        raise SystemExit("no screen pops received")
    print(f"\n{len(latency)} of {args.calls} calls popped in {elapsed:.0f} s "
          f"({args.orders:,} orders seeded, {args.rate}/s, ASR off)")  # fmt: skip
    print(f"popped before answer: {early}/{len(latency)}")
    print("\n| ms | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|")
    for name, values in (("INVITE → context on the websocket", latency), ("lookup", lookup)):
        cells = [pct(values, 50), pct(values, 90), pct(values, 99), max(values)]
        cells.append(statistics.fmean(values))
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")


if __name__ == "__main__":
    main()
