"""Ticket writes on SQLite and PostgreSQL: create and update throughput, latency per request.

    .venv/bin/python bench/tickets.py                 # 2 000 tickets, 3 updates each
    .venv/bin/python bench/tickets.py --tickets 500 --backends sqlite

Each ticket is one transaction through ``tingyin.tickets.actions.create_ticket`` (number,
priority, responsibility, repeat check, SLA, history row), then three more: in progress, a
public note, resolved — what an agent's clicks do. Single writer, as the API's one-request-
one-transaction does; PostgreSQL is a throwaway cluster on loopback (``tests/pgcluster.py``).
Prints tickets/s and updates/s and p50/p99 per transaction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pgcluster import PgCluster
from tingyin.store import Database
from tingyin.tickets.actions import NewTicket, add_note, change_status, create_ticket
from tingyin.tickets.policy import load_ticket_policy

CATEGORIES = ("late", "missing_item", "spill", "quality", "wrong_dish", "refund")


def timed(fn: Callable[[], object], into: list[float]) -> None:
    started = time.perf_counter()
    fn()
    into.append((time.perf_counter() - started) * 1000)


def run(db: Database, tickets: int) -> tuple[list[float], list[float], float, float]:
    db.migrate()
    policy = load_ticket_policy()
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    creates: list[float] = []
    updates: list[float] = []
    numbers: list[str] = []

    def create(i: int) -> None:
        with db.session() as session:
            new = NewTicket(
                category=CATEGORIES[i % len(CATEGORIES)],
                order_no=f"{7 * 10**15 + i}",
                customer_phone=f"+86139{i:08d}",
                description="顾客来电反映问题",
            )
            numbers.append(create_ticket(session, policy, new, actor=None, now=now).ticket.number)

    started = time.perf_counter()
    for i in range(tickets):
        timed(lambda i=i: create(i), creates)  # type: ignore[misc]
    create_s = time.perf_counter() - started

    def update(number: str, step: int) -> None:
        from sqlalchemy import select

        from tingyin.store.models import Ticket

        with db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            at = now + timedelta(minutes=step)
            if step == 1:
                change_status(session, policy, ticket, "in_progress", actor=None, now=at)
            elif step == 2:
                add_note(session, ticket, "已联系商家", actor=None, now=at, public=True)
            else:
                change_status(session, policy, ticket, "resolved", actor=None, now=at)

    started = time.perf_counter()
    for step in (1, 2, 3):
        for number in numbers:
            timed(lambda n=number, s=step: update(n, s), updates)  # type: ignore[misc]
    update_s = time.perf_counter() - started
    db.dispose()
    return creates, updates, create_s, update_s


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            path = Path(tempfile.mkdtemp(prefix="tingyin-bench-tickets-")) / "t.db"
            result = run(Database(f"sqlite:///{path}"), args.tickets)
        else:
            with PgCluster.start() as cluster:
                result = run(Database(cluster.url(cluster.new_database())), args.tickets)
        creates, updates, create_s, update_s = result
        rows.append((backend, len(creates) / create_s, pct(creates, 50), pct(creates, 99),
                     len(updates) / update_s, pct(updates, 50), pct(updates, 99),
                     statistics.fmean(creates)))  # fmt: skip
    print(f"\n{args.tickets} tickets, 3 updates each, one transaction per request\n")
    print("| backend | creates/s | create p50 ms | create p99 ms | updates/s | update p50 ms "
          "| update p99 ms |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for backend, cps, c50, c99, ups, u50, u99, _mean in rows:
        print(
            f"| {backend} | {cps:.0f} | {c50:.1f} | {c99:.1f} | {ups:.0f} | {u50:.1f} | {u99:.1f} |"
        )


if __name__ == "__main__":
    main()
