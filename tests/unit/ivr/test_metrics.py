"""IVR figures over a real migrated store (SQLite, and PostgreSQL where it is installed): calls
with known paths through the IVR, every figure checked against values worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tingyin.ivr.metrics import (
    IvrSummary,
    NodeStat,
    call_path,
    ivr_metrics,
    ivr_summary,
    node_stats,
    path_outcome,
    window_for_days,
)
from tingyin.store import Database
from tingyin.store.models import Call, CallEventRow

# (seconds after the call started, node id, node type, result or None)
Step = tuple[float, str, str, str | None]
# (seconds after the call started, outcome, last node id)
End = tuple[float, str, str]

T0 = datetime(2025, 6, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
T1 = T0 + timedelta(hours=1)


def add_call(session: Session, call_id: str, started: datetime) -> None:
    """A finished inbound CDR row (the IVR rows refer to it)."""
    session.add(
        Call(
            id=call_id,
            sip_call_id=f"sip-{call_id}",
            direction="inbound",
            caller_number="13800000000",
            caller_key="13800000000",
            dialed_number="4008001234",
            worker=0,
            status="ended",
            legs=[],
            started_at=started,
            answered_at=started,
            ended_at=started + timedelta(minutes=2),
            end_reason="hangup",
        )
    )
    session.flush()  # the events' foreign key needs the row first


def add_ivr_rows(
    session: Session,
    call_id: str,
    started: datetime,
    steps: Sequence[Step],
    end: End | None,
    *,
    reverse: bool = False,
) -> None:
    """The rows the IVR engine writes: one per node visited, then the ivr_end row."""
    rows = []
    for seconds, node, node_type, result in steps:
        data = {"node": node, "type": node_type} | ({"result": result} if result else {})
        rows.append(
            CallEventRow(
                call_id=call_id, at=started + timedelta(seconds=seconds), kind="ivr", data=data
            )
        )
    if end is not None:
        seconds, outcome, node = end
        at = started + timedelta(seconds=seconds)
        rows.append(
            CallEventRow(
                call_id=call_id, at=at, kind="ivr_end", data={"outcome": outcome, "node": node}
            )
        )
    for row in reversed(rows) if reverse else rows:
        session.add(row)
        session.flush()  # ids in this order: the queries must order by time, not by id


def add_ivr_call(
    session: Session,
    call_id: str,
    started: datetime,
    steps: Sequence[Step],
    end: End | None,
    *,
    reverse: bool = False,
) -> None:
    add_call(session, call_id, started)
    add_ivr_rows(session, call_id, started, steps, end, reverse=reverse)


# The calls of the window [T0, T1), worked out by hand below.
PATHS: dict[str, tuple[timedelta, list[Step], End | None]] = {
    # Self-service: the order status read out, then goodbye. 22 s in the IVR.
    "call-a": (
        timedelta(0),  # exactly at `since`: inside the window
        [
            (1, "welcome", "play", None),
            (6, "main", "menu", "ok"),
            (13, "order_status", "lookup", "ok"),
            (21, "bye", "hangup", None),
        ],
        (23, "contained", "bye"),
    ),
    # An invalid key, a timeout, then "agent please". 21 s.
    "call-b": (
        timedelta(minutes=5),
        [
            (1, "welcome", "play", None),
            (5, "main", "menu", "invalid"),
            (11, "main", "menu", "timeout"),
            (17, "main", "menu", "ok"),
            (21, "to_agent", "queue", None),
        ],
        (22, "queued", "to_agent"),
    ),
    # Silence at the main menu, then the caller hangs up there. 9 s.
    "call-c": (
        timedelta(minutes=10),
        [(1, "welcome", "play", None), (7, "main", "menu", "timeout")],
        (10, "abandoned", "main"),
    ),
    # A late order: the coupon accepted, goodbye. 31 s.
    "call-d": (
        timedelta(minutes=15),
        [
            (1, "welcome", "play", None),
            (6, "main", "menu", "ok"),
            (12, "late", "remedy", "accepted"),
            (31, "bye", "hangup", None),
        ],
        (32, "contained", "bye"),
    ),
    # The coupon declined, and the caller hangs up at the remedy. 14 s.
    "call-e": (
        timedelta(minutes=20),
        [
            (1, "welcome", "play", None),
            (6, "main", "menu", "ok"),
            (10, "late", "remedy", "declined"),
        ],
        (15, "abandoned", "late"),
    ),
    # The IVR failed after its greeting. 2 s.
    "call-f": (
        timedelta(minutes=25),
        [(1, "welcome", "play", None)],
        (3, "error", "welcome"),
    ),
    # Still in the IVR: no ivr_end row yet.
    "call-g": (
        timedelta(minutes=30),
        [(1, "welcome", "play", None), (4, "main", "menu", None)],
        None,
    ),
}
# Outside the window: at `until` (excluded) and just before `since`.
OUTSIDE: dict[str, tuple[datetime, list[Step], End | None]] = {
    "call-h": (
        T1,
        [(1, "welcome", "play", None), (5, "old_menu", "menu", "timeout")],
        (8, "abandoned", "old_menu"),
    ),
    "call-j": (T0 - timedelta(seconds=1), [(1, "welcome", "play", None)], (2, "contained", "")),
}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        for call_id, (after, steps, end) in PATHS.items():
            add_ivr_call(session, call_id, T0 + after, steps, end, reverse=call_id == "call-b")
        for call_id, (started, steps, end) in OUTSIDE.items():
            add_ivr_call(session, call_id, started, steps, end)
        # In the window but straight to an agent, never in the IVR: only a key press logged.
        add_call(session, "call-i", T0 + timedelta(minutes=40))
        session.add(
            CallEventRow(
                call_id="call-i",
                at=T0 + timedelta(minutes=40, seconds=2),
                kind="dtmf",
                data={"digit": "0", "method": "rfc2833"},
            )
        )
    yield database
    database.dispose()


def test_the_summary_of_the_window(db: Database) -> None:
    with db.session() as session:
        summary = ivr_summary(session, T0, T1)
    # a … g entered (h starts at `until`, j before `since`, i never entered the IVR).
    # contained: a, d; queued: b; abandoned: c, e; error: f; still in the IVR: g.
    # Seconds in the IVR of those that left it: 22 + 21 + 9 + 31 + 14 + 2 = 99 over 6 calls.
    assert asdict(summary) == {
        "entered": 7,
        "contained": 2,
        "queued": 1,
        "abandoned": 2,
        "error": 1,
        "in_progress": 1,
        "containment_rate": pytest.approx(2 / 7),
        "avg_seconds": pytest.approx(16.5),
    }


def test_the_nodes_of_the_window(db: Database) -> None:
    with db.session() as session:
        stats = node_stats(session, T0, T1)
    # main: a 1 + b 3 + c 1 + d 1 + e 1 + g 1 visits by 6 calls; c hung up there; timeouts in
    # b and c, the invalid key in b. late: d and e, e hung up there. Ties in visits go by id.
    assert stats == [
        NodeStat("main", "menu", visits=8, calls=6, drop_outs=1, timeouts=2, invalid=1),
        NodeStat("welcome", "play", visits=7, calls=7, drop_outs=0, timeouts=0, invalid=0),
        NodeStat("bye", "hangup", visits=2, calls=2, drop_outs=0, timeouts=0, invalid=0),
        NodeStat("late", "remedy", visits=2, calls=2, drop_outs=1, timeouts=0, invalid=0),
        NodeStat("order_status", "lookup", visits=1, calls=1, drop_outs=0, timeouts=0, invalid=0),
        NodeStat("to_agent", "queue", visits=1, calls=1, drop_outs=0, timeouts=0, invalid=0),
    ]
    rates = {s.node: s.drop_out_rate for s in stats}
    assert rates["main"] == pytest.approx(1 / 6)
    assert rates["late"] == pytest.approx(0.5)
    assert rates["welcome"] == 0.0


def test_one_pass_gives_both_and_windows_move(db: Database) -> None:
    with db.session() as session:
        assert ivr_metrics(session, T0, T1) == (
            ivr_summary(session, T0, T1),
            node_stats(session, T0, T1),
        )
        # [T0 + 10 min, T0 + 20 min): c and d only.
        summary = ivr_summary(session, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
        assert (summary.entered, summary.contained, summary.abandoned) == (2, 1, 1)
        assert summary.avg_seconds == pytest.approx((9 + 31) / 2)
        # A window one second later drops a and takes h.
        later = ivr_metrics(session, T0 + timedelta(seconds=1), T1 + timedelta(seconds=1))
        assert later[0].entered == 7 and later[0].contained == 1 and later[0].abandoned == 3
        assert "old_menu" in {s.node for s in later[1]}


def test_an_empty_window(db: Database) -> None:
    with db.session() as session:
        summary, stats = ivr_metrics(session, T1 + timedelta(days=1), T1 + timedelta(days=2))
    assert summary == IvrSummary(0, 0, 0, 0, 0, 0, containment_rate=0.0, avg_seconds=None)
    assert stats == []


def test_naive_datetimes_are_refused(db: Database) -> None:
    with db.session() as session, pytest.raises(ValueError, match="timezone-aware"):
        ivr_summary(session, T0.replace(tzinfo=None), T1)


def test_odd_end_rows(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        # The engine failed before its first node: entered, an error, no time in the IVR.
        add_ivr_call(session, "x1", T0, [], (0.5, "error", ""))
        # An outcome the contract does not know counts as an error.
        add_ivr_call(session, "x2", T0, [(1, "welcome", "play", None)], (4, "exploded", "welcome"))
        # Abandoned without naming the node: the last node visited takes the drop-out.
        add_ivr_call(
            session,
            "x3",
            T0,
            [(1, "welcome", "play", None), (3, "main", "menu", "timeout")],
            (9, "abandoned", ""),
        )
    with db.session() as session:
        summary, stats = ivr_metrics(session, T0, T1)
        assert (summary.entered, summary.error, summary.abandoned) == (3, 2, 1)
        assert summary.avg_seconds == pytest.approx((3 + 8) / 2)
        assert {s.node: s.drop_outs for s in stats} == {"welcome": 0, "main": 1}
        assert path_outcome(call_path(session, "x2")) == "error"
        (only,) = call_path(session, "x1")
        assert (only.type, only.outcome, only.offset_seconds) == ("end", "error", 0.0)
    db.dispose()


def test_the_path_of_one_call(db: Database) -> None:
    with db.session() as session:
        steps = call_path(session, "call-b")  # its rows were written last-first
        assert [(s.node, s.type, s.result, s.offset_seconds, s.outcome) for s in steps] == [
            ("welcome", "play", None, 0.0, None),
            ("main", "menu", "invalid", 4.0, None),
            ("main", "menu", "timeout", 10.0, None),
            ("main", "menu", "ok", 16.0, None),
            ("to_agent", "queue", None, 20.0, None),
            ("to_agent", "end", None, 21.0, "queued"),
        ]
        assert steps[0].at == T0 + timedelta(minutes=5, seconds=1)
        assert path_outcome(steps) == "queued"

        in_ivr = call_path(session, "call-g")
        assert [s.node for s in in_ivr] == ["welcome", "main"]
        assert path_outcome(in_ivr) is None

        assert call_path(session, "call-i") == []  # a call that never entered the IVR
        assert call_path(session, "no-such-call") == []


def test_windows_of_calendar_days_in_the_site_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2025, 6, 18, 1, 0, tzinfo=UTC)  # 09:00 on the 18th in Shanghai
    assert window_for_days(now, shanghai, 1) == (datetime(2025, 6, 17, 16, 0, tzinfo=UTC), now)
    assert window_for_days(now, shanghai, 7)[0] == datetime(2025, 6, 11, 16, 0, tzinfo=UTC)
    # 23:30 UTC on the 17th is already the 18th in Shanghai.
    late = datetime(2025, 6, 17, 23, 30, tzinfo=UTC)
    assert window_for_days(late, shanghai, 1)[0] == datetime(2025, 6, 17, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        window_for_days(now, shanghai, 0)
