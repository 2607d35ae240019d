"""The report figures over a generated two weeks (tests/unit/reports/history.py), each checked
against what this test works out from the plan alone; then late events, rebuilds, migrations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from tests.unit.reports.history import NOW, STORES, TZ, History, plan, write
from tingyin.bus.events import CallEnded, CallQueued, CallRinging, QueueLeft
from tingyin.reports import complaints, erlang, queries
from tingyin.reports.figures import call_figures
from tingyin.reports.forecast import forecast
from tingyin.reports.rollup import refresh, scan
from tingyin.store import Database
from tingyin.store.base import Base
from tingyin.store.models import ReportDirty, ReportHalfHour
from tingyin.telephony.actions import apply_call_event
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy

WINDOW = timedelta(hours=72)
SINCE, UNTIL = NOW - timedelta(days=15), NOW
FIRST, LAST = SINCE.astimezone(TZ).date(), NOW.astimezone(TZ).date()


def settle(db: Database, policy: TicketPolicy, now: datetime = NOW) -> None:
    """Scan and refresh until nothing is dirty (what the hub's refresher does every minute)."""
    with db.session() as session:
        scan(session, now, TZ, WINDOW)
    for _ in range(20):
        with db.session() as session:
            done = refresh(session, policy, now=now, tz=TZ, fcr_window=WINDOW)
        if done.left == 0 or done.half_hours + done.tickets + done.term_days == 0:
            return  # all done, or only today's terms wait out their debounce
    raise AssertionError("refresh did not finish")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, History]]:
    """One generated store for the tests that only read it."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('reports') / 't.db'}")
    database.migrate()
    h = plan()
    settle(database, write(database, h))
    yield database, h
    database.dispose()


@pytest.fixture
def history(shared: tuple[Database, History]) -> tuple[History, TicketPolicy]:
    return shared[1], load_ticket_policy()


@pytest.fixture
def db(shared: tuple[Database, History]) -> Database:
    return shared[0]


def test_call_figures_match_the_plan(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    calls = h.calls
    queued = [c for c in calls if c.ivr == "queued"]
    answered = [c for c in queued if c.answered]
    abandoned = [c for c in queued if not c.answered]
    with db.session() as session:
        totals = queries.call_totals(session, SINCE, UNTIL)
    f = call_figures(totals, 20)
    assert (f.calls, f.offered, f.answered, f.abandoned) == (
        len(calls), len(queued), len(answered), len(abandoned)
    )  # fmt: skip
    within = sum(c.wait <= 20 for c in answered)
    assert f.service_level == pytest.approx(within / (len(answered) + len(abandoned)))
    assert f.asa_seconds == pytest.approx(sum(c.wait for c in answered) / len(answered))
    aht = sum(c.talk + c.wrap for c in answered) / len(answered)
    assert f.aht_seconds == pytest.approx(aht)
    assert f.abandonment_rate == pytest.approx(len(abandoned) / len(queued))
    contained = sum(c.ivr == "contained" for c in calls)
    assert f.ivr_containment == pytest.approx(contained / len(calls))
    # FCR: handled calls about an order; the first call of a repeat story was not enough.
    eligible = [c for c in answered if c.order_no]
    repeated = [s.calls[0] for s in h.stories if s.kind == "repeat"]
    assert totals.fcr_eligible == len(eligible)
    assert totals.fcr_repeat == len(repeated)
    assert f.fcr == pytest.approx(1 - len(repeated) / len(eligible))
    with db.session() as session:
        per_queue = queries.by_queue(session, SINCE, UNTIL)
    assert {q: t.offered for q, t in per_queue.items() if q} == dict(
        Counter(c.queue for c in queued)
    )
    assert per_queue[""].calls == sum(c.ivr != "queued" for c in calls)


def test_by_day_and_half_hour(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    want = Counter(c.started.astimezone(TZ).date() for c in h.calls)
    with db.session() as session:
        days = queries.by_day(session, SINCE, UNTIL)
        halves = queries.half_hours(session, SINCE, UNTIL)
    assert {d: t.calls for d, t in days} == dict(want)
    assert sum(t.calls for _, t in halves) == len(h.calls)
    assert all(b.minute in (0, 30) and b.second == 0 for b, _ in halves)


def test_ticket_figures_match_the_plan(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    singles = [s for s in h.stories if s.kind == "single"]
    repeats = [s for s in h.stories if s.kind == "repeat"]
    with db.session() as session:
        t = queries.ticket_figures(session, SINCE, UNTIL, NOW, tz=TZ, recurrence_alert=0.05)
        backlog = queries.backlog(session)
    assert t.opened == len(singles) + len(repeats)
    assert t.resolved == len(singles)
    # Singles were answered in 5 minutes and resolved in 30; repeats were never touched.
    assert (t.first_response.met, t.first_response.missed) == (len(singles), len(repeats))
    assert (t.resolution.met, t.resolution.missed) == (len(singles), len(repeats))
    scores = [s.score for s in singles if s.score is not None]
    assert t.satisfaction.surveys == len(scores)
    assert t.satisfaction.csat == pytest.approx(sum(s >= 4 for s in scores) / len(scores))
    assert t.satisfaction.mean_score == pytest.approx(sum(scores) / len(scores))
    contacts = len(singles) + 2 * len(repeats)
    assert (t.recurrence.contacts, t.recurrence.repeats) == (contacts, len(repeats))
    assert t.recurrence.alert == (len(repeats) / contacts > 0.05)
    # Open now: the repeat stories' tickets, never moved on from accepted.
    assert sum(backlog["accepted"].values()) == len(repeats)


def test_complaint_analytics(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    tickets = [s for s in h.stories if s.order_no]
    with db.session() as session:
        cats = complaints.complaint_shares(session, FIRST, LAST, "category")
        stores = complaints.complaint_shares(session, FIRST, LAST, "store")
        grid = complaints.complaint_heatmap(session, FIRST, LAST)
        trend = complaints.complaint_trend(session, FIRST, LAST)
    assert {c.key: c.tickets for c in cats} == dict(Counter(s.category for s in tickets))
    assert sum(c.share for c in cats) == pytest.approx(1)
    assert {s.label: s.tickets for s in stores} == dict(Counter(STORES[s.store] for s in tickets))
    opened = [s.opened_at.astimezone(TZ) for s in tickets if s.opened_at]
    want = Counter((o.weekday(), o.hour) for o in opened)
    assert {(d, hr): n for d, row in enumerate(grid) for hr, n in enumerate(row) if n} == want
    assert sum(n for series in trend.values() for _, n in series) == len(tickets)
    # Drill-down: the tickets behind the biggest store's number, with their calls.
    top = stores[0]
    with db.session() as session:
        rows = complaints.drill_tickets(session, FIRST, LAST, filters={"store": top.key})
    assert len(rows) == top.tickets
    assert all(r.store == top.label and r.call_ids for r in rows)
    story_calls = {s.ticket_id: {c.id for c in s.calls} for s in tickets}
    assert all(set(r.call_ids) == story_calls[r.id] for r in rows)


def test_keywords_rank_and_rise(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    last = (NOW.astimezone(TZ) - timedelta(days=1)).date()
    week = {last - timedelta(days=d) for d in range(7)}
    new = [c for c in h.calls if "奶茶" in c.words and c.started.astimezone(TZ).date() in week]
    with db.session() as session:
        top = queries.top_terms(session, last - timedelta(days=6), last)
        rising = queries.rising_terms(session, last)
        found = queries.calls_with_term(session, "奶茶", NOW - timedelta(days=7), NOW, limit=500)
    by_term = {t.term: t.calls for t in top}
    assert by_term["奶茶"] == len(new) and by_term["洒了"] == len(new)
    assert "超时" not in by_term  # the week before's word
    assert "你好" not in by_term and "客服" not in by_term  # a stop word; the agent's side
    assert {r.term for r in rising} >= {"奶茶", "洒了", "退款"}
    assert all(r.new for r in rising if r.term == "奶茶")
    recent = {c.id for c in h.calls if "奶茶" in c.words and c.started >= NOW - timedelta(days=7)}
    assert {cid for cid, _, _ in found} == recent


def test_staffing_follows_the_history(db: Database, history: tuple[History, TicketPolicy]) -> None:
    h, _ = history
    answered = [c for c in h.calls if c.answered]
    aht = sum(c.talk + c.wrap for c in answered) / len(answered)
    hist: Counter[tuple[object, int]] = Counter()
    for c in h.calls:
        if c.ivr == "queued":
            local = c.started.astimezone(TZ)
            hist[(local.date(), local.hour * 2 + local.minute // 30)] += 1
    today = NOW.astimezone(TZ).date()
    with db.session() as session:
        staffing = queries.staffing(session, start=today, days=1, tz=TZ, now=NOW, shrinkage=0.3)
    assert staffing.aht_seconds == pytest.approx(aht)
    want = forecast(hist, start=today, days=1, history_end=today)  # type: ignore[arg-type]
    for slot, f in zip(staffing.slots, want, strict=True):
        assert slot.calls == pytest.approx(f.calls, abs=0.01)
        assert slot.agents == erlang.agents_needed(f.calls, aht).agents
    assert max(s.agents for s in staffing.slots) > 0


def test_late_events_and_rebuilds_land_in_the_right_bucket(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}")
    db.migrate()
    policy = write(db, plan())
    settle(db, policy)
    with db.session() as session:
        before = queries.call_totals(session, SINCE, UNTIL)
        rows_before = session.scalars(select(ReportHalfHour)).all()
        snapshot = {(r.bucket_start, r.queue): r.answered for r in rows_before}
    # A call of ten days ago reported only now (a worker's backlog after a network cut).
    old = NOW - timedelta(days=10, minutes=7)
    with db.session() as session:
        for event in (
            CallRinging(call_id="late1", sip_call_id="s", worker=0, caller="1", dialed="2", at=old),
            CallQueued(call_id="late1", queue="customer", at=old),
            QueueLeft(call_id="late1", queue="customer", outcome="abandoned", waited_seconds=30,
                      at=old + timedelta(seconds=30)),
            CallEnded(call_id="late1", reason="hangup", at=old + timedelta(seconds=31)),
        ):  # fmt: skip
            apply_call_event(session, event)
    settle(db, policy)
    with db.session() as session:
        after = queries.call_totals(session, SINCE, UNTIL)
        assert session.scalar(select(ReportDirty.key).where(ReportDirty.kind != "term_day")) is None
    assert (after.calls, after.offered, after.abandoned) == (
        before.calls + 1, before.offered + 1, before.abandoned + 1
    )  # fmt: skip
    # Recomputing everything again changes nothing (idempotent), the late call included.
    from tingyin.reports.rollup import rebuild

    with db.session() as session:
        assert rebuild(session, since=SINCE, until=UNTIL, now=NOW, tz=TZ) > 0
    settle(db, policy)
    with db.session() as session:
        again = queries.call_totals(session, SINCE, UNTIL)
        rows = session.scalars(select(ReportHalfHour)).all()
    assert again == after
    changed = {(r.bucket_start, r.queue) for r in rows} - set(snapshot)
    assert len(changed) <= 1  # at most the late call's half hour got a new queue row


def test_the_migration_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}")
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "report_" in repr(d)] == []


def test_the_same_figures_on_sqlite_and_postgresql(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    h = plan(seed=3)
    settle(db, write(db, h))
    queued = [c for c in h.calls if c.ivr == "queued"]
    last = NOW.astimezone(TZ).date()
    with db.session() as session:
        totals = queries.call_totals(session, SINCE, UNTIL)
        tickets = queries.ticket_figures(session, SINCE, UNTIL, NOW, tz=TZ)
        shares = complaints.complaint_shares(session, FIRST, LAST, "store")
        grid = complaints.complaint_heatmap(session, FIRST, LAST)
        terms, docs = queries.term_counts(session, last - timedelta(days=15), last)
        found = queries.calls_with_term(session, "奶茶", SINCE, UNTIL, limit=500)
        staffing = queries.staffing(session, start=last, days=1, tz=TZ, now=NOW)
    assert (totals.calls, totals.offered) == (len(h.calls), len(queued))
    assert tickets.opened == sum(s.order_no is not None for s in h.stories)
    assert sum(s.tickets for s in shares) == tickets.opened == sum(map(sum, grid))
    assert docs == sum(bool(c.words) for c in h.calls)
    assert terms["奶茶"] == len(found) == sum("奶茶" in c.words for c in h.calls)
    assert len(staffing.slots) == 48
    db.dispose()
