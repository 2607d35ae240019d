"""Reports on a year of history: how long each dashboard view takes to open.

    .venv/bin/python bench/reports.py                          # 10 M calls, SQLite + PostgreSQL
    .venv/bin/python bench/reports.py --calls 2000000 --backends sqlite --raw-days 1

A 200-seat center: ``--calls`` a year (default 10 M, ~27 000 a day) with lunch and dinner
peaks, busier weekends and a slow growth. The year before the last ``--raw-days`` days is
written straight into the pre-aggregates (``report_half_hours``, ``report_term_days``) and, for
tickets (8 % of calls), as raw ``tickets`` rows plus their ``report_tickets`` facts, with bulk
inserts (executemany; SQLAlchemy's insertmanyvalues on PostgreSQL). The last ``--raw-days`` are
written as raw calls, call events and transcripts and folded in by the real refresher (timed):
that is the work the hub's report service does as calls arrive.

Then every view is opened through the real web app (TestClient, a supervisor's token), three
times each; the table shows the first (cold) and the best of the other two, in ms. PostgreSQL
is a throwaway cluster on loopback (``tests/pgcluster.py``). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.pgcluster import PgCluster
from tingyin.accounts.actions import create_user
from tingyin.config import Settings
from tingyin.reports.recompute import HALF_HOUR
from tingyin.reports.rollup import optimize, refresh, scan
from tingyin.store import Database
from tingyin.store.models import (
    Call,
    CallEventRow,
    Merchant,
    ReportHalfHour,
    ReportTermDay,
    ReportTicket,
    Rider,
    Store,
    Ticket,
    TranscriptSegment,
)
from tingyin.tickets.policy import load_ticket_policy
from tingyin.web.app import create_app
from tingyin.web.context import AppContext

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "bench-secret-key-0123456789-abcdefgh"
PASSWORD = "bench-pass-123456"
CATEGORIES = ("late", "missing_item", "spill", "quality", "wrong_dish", "wrong_address",
              "refund", "rider_attitude")  # fmt: skip
CHANNELS = ("phone", "app", "chat", "miniprogram")
QUEUES = (("customer", 0.62), ("rider", 0.22), ("merchant", 0.08), ("", 0.08))
TERMS = [f"词{i:03d}" for i in range(300)]
TICKET_SHARE = 0.08
STORES, MERCHANTS, RIDERS = 2000, 800, 5000
CHUNK = 20_000


def profile() -> list[float]:
    """Share of a day's calls per half hour (local): lunch and dinner peaks, quiet nights."""
    weights = []
    for slot in range(48):
        h = slot / 2
        w = 0.15 + 2.2 * math.exp(-((h - 12.0) ** 2) / 2) + 2.8 * math.exp(-((h - 18.5) ** 2) / 2.5)
        w += 0.6 if 9 <= h <= 22 else 0.0
        weights.append(w)
    total = sum(weights)
    return [w / total for w in weights]


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk(db: Database, model: Any, rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    for batch in chunks(rows):
        with db.session() as session:
            session.execute(insert(model), batch)
        n += len(batch)
    return n


class Year:
    """The synthetic year: calls per local day, spread over half hours and queues."""

    def __init__(self, calls: int, today: date, raw_days: int, seed: int = 1) -> None:
        self.rnd = random.Random(seed)
        self.today = today
        self.first = today - timedelta(days=365)
        self.raw_from = today - timedelta(days=raw_days)
        self.profile = profile()
        weights = []
        for i in range(365):
            d = self.first + timedelta(days=i)
            weekend = 1.25 if d.weekday() >= 5 else 1.0
            weights.append(weekend * (0.85 + 0.3 * i / 365))  # ~30 % growth over the year
        scale = calls / sum(weights)
        self.per_day = {self.first + timedelta(days=i): w * scale for i, w in enumerate(weights)}

    def slots(self, day: date) -> Iterator[tuple[datetime, float]]:
        start = datetime.combine(day, datetime.min.time(), TZ).astimezone(UTC)
        for slot, share in enumerate(self.profile):
            yield start + slot * HALF_HOUR, self.per_day[day] * share

    def aggregated_days(self) -> Iterator[date]:
        d = self.first
        while d < self.raw_from:
            yield d
            d += timedelta(days=1)

    def half_hour_rows(self) -> Iterator[dict[str, Any]]:
        now = datetime.now(UTC)
        for day in self.aggregated_days():
            for bucket, expected in self.slots(day):
                for queue, share in QUEUES:
                    n = int(expected * share * self.rnd.uniform(0.85, 1.15))
                    if n == 0:
                        continue
                    offered = n if queue else 0
                    abandoned = int(offered * self.rnd.uniform(0.02, 0.12))
                    answered = offered - abandoned
                    handled = answered
                    w20 = int(answered * self.rnd.uniform(0.6, 0.95))
                    yield {
                        "bucket_start": bucket, "queue": queue, "calls": n,
                        "local_day": bucket.astimezone(TZ).date(),
                        "ivr_entered": n, "ivr_contained": n - offered, "offered": offered,
                        "answered": answered, "abandoned": abandoned,
                        "within_10": int(w20 * 0.7), "within_20": w20,
                        "within_30": min(answered, int(w20 * 1.1)), "within_60": answered,
                        "wait_seconds": answered * self.rnd.uniform(8, 30),
                        "abandon_wait_seconds": abandoned * 40.0, "handled": handled,
                        "talk_seconds": handled * self.rnd.uniform(150, 260),
                        "wrap_seconds": handled * 25.0, "fcr_eligible": handled // 2,
                        "fcr_repeat": int(handled // 2 * 0.12), "callbacks": abandoned // 4,
                        "callbacks_answered": abandoned // 6, "refreshed_at": now,
                    }  # fmt: skip

    def tickets(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        now = datetime.now(UTC)
        seq = 0
        for day in self.aggregated_days():
            for bucket, expected in self.slots(day):
                for _ in range(int(expected * TICKET_SHARE + self.rnd.random())):
                    seq += 1
                    opened = bucket + timedelta(seconds=self.rnd.randrange(1800))
                    local = opened.astimezone(TZ)
                    category = self.rnd.choices(CATEGORIES, (30, 20, 15, 12, 8, 6, 6, 3))[0]
                    store = 1 + min(STORES - 1, int(self.rnd.paretovariate(1.2)) * 7 % STORES)
                    resolved = opened + timedelta(hours=self.rnd.uniform(0.2, 30))
                    late = self.rnd.random() < 0.1
                    ticket = {
                        "id": seq, "number": f"T{seq:011d}", "channel": self.rnd.choice(CHANNELS),
                        "category": category, "status": "closed", "priority": "normal",
                        "priority_reasons": [], "order_no": f"8{seq:011d}",
                        "customer_phone": None, "customer_name": "", "description": "",
                        "responsible_party": "delivery", "responsibility_reason": "",
                        "opened_at": opened, "updated_at": resolved, "resolved_at": resolved,
                        "sla_state": "breached" if late else "met", "compensation_fen": 0,
                    }  # fmt: skip
                    fact = {
                        "ticket_id": seq, "opened_at": opened, "local_day": local.date(),
                        "local_hour": local.hour, "weekday": local.weekday(),
                        "category": category, "channel": ticket["channel"], "priority": "normal",
                        "status": "closed", "responsible_party": "delivery",
                        "order_channel": "meituan", "store_id": store,
                        "merchant_id": 1 + store % MERCHANTS,
                        "rider_id": 1 + self.rnd.randrange(RIDERS),
                        "is_repeat": self.rnd.random() < 0.03,
                        "repeat_contacts": int(self.rnd.random() < 0.03),
                        "first_response_state": "met", "first_response_due": None,
                        "resolution_state": "breached" if late else "met",
                        "resolution_due": None, "resolved_at": resolved, "refreshed_at": now,
                    }  # fmt: skip
                    yield ticket, fact

    def term_rows(self) -> Iterator[dict[str, Any]]:
        for day in self.aggregated_days():
            transcribed = int(self.per_day[day] * 0.5)
            for category in ("", *CATEGORIES):
                docs = transcribed if category == "" else int(transcribed * 0.01)
                yield {"day": day, "category": category, "term": "", "calls": docs}
                for rank, term in enumerate(TERMS):
                    n = int(docs * 0.3 / (rank + 1) * self.rnd.uniform(0.7, 1.3))
                    if n:
                        yield {"day": day, "category": category, "term": term, "calls": n}


Row = dict[str, Any]


def raw_calls(year: Year) -> Iterator[tuple[Row, list[Row], list[Row]]]:
    """Raw calls for the last days: the CDR row, its events, a caller utterance for half."""
    n = 0
    for i in range((year.today - year.raw_from).days):
        day = year.raw_from + timedelta(days=i)
        for bucket, expected in year.slots(day):
            for _ in range(int(expected)):
                n += 1
                cid = f"r{n:010d}"
                t0 = bucket + timedelta(seconds=year.rnd.randrange(1800))
                wait = year.rnd.expovariate(1 / 20)
                answered = year.rnd.random() > 0.08
                call = {
                    "id": cid, "sip_call_id": cid, "direction": "inbound",
                    "caller_number": "13800000000", "caller_key": "13800000000",
                    "dialed_number": "4008001234", "worker": 0, "status": "ended", "legs": [],
                    "started_at": t0, "answered_at": t0, "ended_at": t0 + timedelta(seconds=300),
                    "end_reason": "hangup",
                }  # fmt: skip
                at = [t0 + timedelta(seconds=s) for s in (1, 8, 8 + wait, 8 + wait + 200)]
                events = [
                    {"call_id": cid, "at": at[0], "kind": "ivr", "data": {"node": "welcome"}},
                    {"call_id": cid, "at": at[1], "kind": "ivr_end", "data": {"outcome": "queued"}},
                    {"call_id": cid, "at": at[1], "kind": "queued", "data": {"queue": "customer"}},
                    {"call_id": cid, "at": at[2], "kind": "queue_left",
                     "data": {"outcome": "answered" if answered else "abandoned",
                              "waited_seconds": wait}},
                ]  # fmt: skip
                if answered:
                    events += [
                        {"call_id": cid, "at": at[2], "kind": "agent_leg",
                         "data": {"leg_id": "a", "state": "answered"}},
                        {"call_id": cid, "at": at[3], "kind": "agent_leg",
                         "data": {"leg_id": "a", "state": "ended"}},
                    ]  # fmt: skip
                segments = []
                if n % 2:
                    words = " ".join(year.rnd.sample(TERMS[:60], 4))
                    segments.append({"call_id": cid, "leg": "caller", "start": 1.0, "end": 3.0,
                                     "text": f"你好 {words} 奶茶 洒了", "words": [],
                                     "source": "live", "created_at": at[3]})  # fmt: skip
                yield call, events, segments


def build(db: Database, year: Year) -> dict[str, float]:
    timings: dict[str, float] = {}
    with db.session() as session:
        create_user(session, "bench-sup", PASSWORD, "supervisor")
        session.add_all(Merchant(id=i, name=f"商家{i}") for i in range(1, MERCHANTS + 1))
        session.flush()
        session.add_all(
            Store(id=i, merchant_id=1 + i % MERCHANTS, name=f"门店{i}", address="-")
            for i in range(1, STORES + 1)
        )
        session.add_all(
            Rider(id=i, name=f"骑手{i}", phone=f"+86139{i:08d}") for i in range(1, RIDERS + 1)
        )
    started = time.perf_counter()
    halves = bulk(db, ReportHalfHour, year.half_hour_rows())
    timings["write half hours"] = time.perf_counter() - started
    started = time.perf_counter()
    pairs = list(year.tickets())
    n_tickets = bulk(db, Ticket, (t for t, _ in pairs))
    bulk(db, ReportTicket, (f for _, f in pairs))
    del pairs
    timings["write tickets + facts"] = time.perf_counter() - started
    started = time.perf_counter()
    terms = bulk(db, ReportTermDay, year.term_rows())
    timings["write term days"] = time.perf_counter() - started
    started = time.perf_counter()
    raw = 0
    for batch in chunks(_flatten(raw_calls(year))):
        with db.session() as session:
            calls = [r["row"] for r in batch if r["t"] == "call"]
            session.execute(insert(Call), calls)
            events = [r["row"] for r in batch if r["t"] == "event"]
            if events:
                session.execute(insert(CallEventRow), events)
            segs = [r["row"] for r in batch if r["t"] == "seg"]
            if segs:
                session.execute(insert(TranscriptSegment), segs)
            raw += len(calls)
    timings["write raw calls"] = time.perf_counter() - started
    started = time.perf_counter()
    policy = load_ticket_policy()
    now = datetime.now(UTC)
    with db.session() as session:
        scan(session, now, TZ, timedelta(hours=72))
    while True:
        with db.session() as session:
            done = refresh(session, policy, now=now + timedelta(hours=1), tz=TZ,
                           fcr_window=timedelta(hours=72))  # fmt: skip
        if done.left == 0 or done.half_hours + done.tickets + done.term_days == 0:
            break
    timings["refresh raw days (the service's work)"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.session() as session:
        optimize(session)  # as the report service does at start and each morning
    timings["ANALYZE report tables (SQLite)"] = time.perf_counter() - started
    print(f"  rows: {halves} half-hour×queue, {n_tickets} tickets (+ facts), {terms} term-days, "
          f"{raw} raw calls")  # fmt: skip
    return timings


def _flatten(items: Iterator[tuple[Row, list[Row], list[Row]]]) -> Iterator[Row]:
    for call, events, segs in items:
        yield {"t": "call", "row": call}
        for e in events:
            yield {"t": "event", "row": e}
        for s in segs:
            yield {"t": "seg", "row": s}


VIEWS = [
    ("dashboard today", "/api/reports/dashboard?days=1"),
    ("dashboard 7 days", "/api/reports/dashboard?days=7"),
    ("dashboard 30 days", "/api/reports/dashboard?days=30"),
    ("dashboard 1 year", "/api/reports/dashboard?days=365"),
    ("complaints 30 days by category", "/api/reports/complaints?days=30"),
    ("complaints 1 year by store", "/api/reports/complaints?days=365&dimension=store"),
    ("complaints 1 year by rider", "/api/reports/complaints?days=365&dimension=rider"),
    ("tickets behind a store, 1 year", "/api/reports/complaints/tickets?days=365&store=8"),
    ("keywords 7 days", "/api/reports/keywords?days=7"),
    ("keywords 1 year", "/api/reports/keywords?days=365"),
    ("calls saying a term, 7 days", "/api/reports/keywords/calls?days=7&term=奶茶"),
    ("staffing 3 days", "/api/reports/staffing?days=3"),
    ("plot: calls per day, 1 year", "/api/reports/plots/calls.svg?days=365"),
    ("plot: complaints heatmap, 1 year", "/api/reports/plots/complaints_hours.svg?days=365"),
    ("word cloud 30 days", "/api/reports/wordcloud.png?days=30"),
    ("export daily.xlsx, 1 year", "/api/reports/export/daily.xlsx?days=365"),
    ("export half_hours.csv, 30 days", "/api/reports/export/half_hours.csv?days=30"),
]


def measure(db: Database, data_dir: Path) -> list[tuple[str, float, float]]:
    settings = Settings(data_dir=data_dir)
    app = create_app(AppContext(settings, db, SECRET, health=lambda: {}))
    out = []
    with TestClient(app) as client:
        token = client.post(
            "/api/auth/token", data={"username": "bench-sup", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name, path in VIEWS:
            times = []
            for _ in range(3):
                started = time.perf_counter()
                r = client.get(path, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
            out.append((name, times[0], min(times[1:])))
    return out


def run(backend: str, args: argparse.Namespace) -> None:
    today = datetime.now(TZ).date()
    year = Year(args.calls, today, args.raw_days)
    with tempfile.TemporaryDirectory(prefix="tingyin-bench-") as tmp:
        cluster = PgCluster.start() if backend == "postgresql" else None
        try:
            url = cluster.url() if cluster else f"sqlite:///{tmp}/bench.db"
            db = Database(url)
            db.migrate()
            print(f"\n== {backend}: {args.calls:,} calls a year, last {args.raw_days} day(s) raw")
            for step, seconds in build(db, year).items():
                print(f"  {step:<40} {seconds:8.1f} s")
            print(f"  {'view':<40} {'cold ms':>9} {'warm ms':>9}")
            for name, cold, warm in measure(db, Path(tmp)):
                flag = "" if warm < 1000 else "  > 1 s"
                print(f"  {name:<40} {cold:9.0f} {warm:9.0f}{flag}")
            db.dispose()
        finally:
            if cluster is not None:
                cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="calls in the year")
    parser.add_argument("--raw-days", type=int, default=1, help="last days written raw")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend.strip(), args)


if __name__ == "__main__":
    main()
