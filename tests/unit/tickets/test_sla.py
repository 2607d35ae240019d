"""The SLA clock: targets, pauses, reopening, warnings, breaches and exact wake-up times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tingyin.tickets.calendar import BusinessCalendar
from tingyin.tickets.policy import Calendar, SlaTarget
from tingyin.tickets.sla import (
    ClockEvent,
    ClockStatus,
    EventKind,
    SlaAlert,
    SlaClock,
    SlaStatus,
    TargetLike,
    calendar_from,
    transitions,
)

CST = ZoneInfo("Asia/Shanghai")
ALWAYS = BusinessCalendar(always_open=True)
DESK = BusinessCalendar()  # 09:00–22:00 every day
TARGET = SlaTarget(first_response_min=10, update_min=60, resolution_min=240)
OPENED = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Target:
    """Any object with the four fields will do (the policy file's model only takes whole minutes
    and a warn_ratio below 1)."""

    first_response_min: float
    update_min: float | None
    resolution_min: float
    warn_ratio: float = 0.8


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def ev(minutes: float, kind: EventKind) -> ClockEvent:
    return ClockEvent(at(minutes), kind)


def evaluate(
    now: float,
    events: Sequence[ClockEvent] = (),
    target: TargetLike = TARGET,
    calendar: BusinessCalendar = ALWAYS,
) -> SlaStatus:
    return SlaClock.evaluate(target, calendar, opened_at=OPENED, events=events, now=at(now))


def test_fresh_ticket() -> None:
    status = evaluate(0)
    first, resolution = status.first_response, status.resolution
    assert (first.state, first.due_at, first.warn_at, first.met_at) == (
        "running",
        at(10),
        at(8),
        None,
    )
    assert first.minutes_left == 10
    assert (resolution.state, resolution.due_at, resolution.warn_at) == (
        "running",
        at(240),
        at(192),
    )
    assert status.next_update is None  # not before the first response
    assert status.worst == "running"
    assert status.next_change_at == at(8)
    assert status.clocks == (first, resolution)


def test_first_response_warning_at_80_percent_then_breach() -> None:
    assert evaluate(8 - 1e-6).first_response.state == "running"
    warning = evaluate(8)
    assert warning.first_response.state == "warning"
    assert warning.first_response.minutes_left == 2
    assert warning.next_change_at == at(10)
    breached = evaluate(12)
    assert breached.first_response.state == "breached"
    assert breached.first_response.due_at == at(10)  # when it fell due
    assert breached.first_response.minutes_left == -2
    assert breached.worst == "breached"
    assert breached.next_change_at == at(192)  # the resolution warning is next


def test_first_response_met_starts_the_update_cycle() -> None:
    status = evaluate(30, [ev(5, "first_response")])
    assert status.first_response.state == "met"
    assert status.first_response.met_at == at(5)
    assert status.first_response.due_at is None
    assert status.first_response.minutes_left == 5
    update = status.next_update
    assert update is not None
    assert (update.state, update.started_at, update.due_at, update.warn_at) == (
        "running",
        at(5),
        at(65),
        at(53),
    )
    assert status.next_change_at == at(53)


def test_an_update_or_resolution_also_counts_as_first_response() -> None:
    assert evaluate(30, [ev(7, "update")]).first_response.met_at == at(7)
    resolved = evaluate(30, [ev(9, "resolved")])
    assert resolved.first_response.met_at == at(9)
    assert resolved.resolution.state == "met"
    assert resolved.next_change_at is None


def test_late_first_response_stays_breached() -> None:
    status = evaluate(30, [ev(12, "first_response")])
    first = status.first_response
    assert (first.state, first.met_at, first.due_at, first.minutes_left) == (
        "breached",
        at(12),
        at(10),
        -2,
    )


def test_updates_restart_the_update_cycle() -> None:
    events = [ev(5, "first_response"), ev(50, "update"), ev(100, "update")]
    status = evaluate(120, events)
    assert status.next_update is not None
    assert status.next_update.started_at == at(100)
    assert status.next_update.due_at == at(160)
    assert status.next_update.state == "running"
    late = evaluate(170, events)
    assert late.next_update is not None
    assert late.next_update.state == "breached"
    assert late.next_update.due_at == at(160)


def test_no_update_target_means_no_update_clock() -> None:
    target = SlaTarget(first_response_min=10, update_min=None, resolution_min=240)
    status = evaluate(500, [ev(5, "first_response")], target=target)
    assert status.next_update is None
    assert status.resolution.state == "breached"


def test_pause_stops_resolution_and_update_but_not_first_response() -> None:
    events = [ev(0, "pause")]
    status = evaluate(20, events)
    assert status.paused
    assert status.first_response.state == "breached"  # nobody answered the customer
    assert status.resolution.state == "paused"
    assert status.resolution.paused
    assert status.resolution.due_at is None
    assert status.resolution.minutes_left == 240

    events = [ev(5, "first_response"), ev(20, "pause")]
    paused = evaluate(200, events)
    assert paused.resolution.state == "paused"
    assert paused.resolution.minutes_left == 220
    assert paused.next_update is not None
    assert paused.next_update.state == "paused"
    assert paused.next_update.minutes_left == 45
    assert paused.next_change_at is None  # nothing can change until someone acts
    assert paused.worst == "paused"


def test_resume_shifts_the_resolution_due_time_and_restarts_the_update_cycle() -> None:
    events = [ev(5, "first_response"), ev(20, "pause"), ev(80, "resume")]
    status = evaluate(90, events)
    assert not status.paused
    assert status.resolution.state == "running"
    assert status.resolution.due_at == at(240 + 60)
    assert status.resolution.minutes_left == 240 - 30
    assert status.next_update is not None
    assert status.next_update.started_at == at(80)
    assert status.next_update.due_at == at(140)


def test_paused_in_warning_stays_warning() -> None:
    events = [ev(5, "first_response"), ev(200, "pause")]
    status = evaluate(1000, events)
    resolution = status.resolution
    assert (resolution.state, resolution.paused, resolution.warn_at, resolution.due_at) == (
        "warning",
        True,
        at(192),
        None,
    )
    assert status.next_change_at is None


def test_breached_while_paused_stays_breached() -> None:
    events = [ev(5, "first_response"), ev(250, "pause")]
    status = evaluate(1000, events)
    assert status.resolution.state == "breached"
    assert status.resolution.due_at == at(240)
    assert status.resolution.minutes_left == -10


def test_redundant_pause_and_resume_are_ignored() -> None:
    events = [ev(5, "first_response"), ev(30, "resume"), ev(40, "pause"), ev(50, "pause")]
    events += [ev(60, "resume"), ev(70, "resume")]
    status = evaluate(100, events)
    assert status.resolution.minutes_left == 240 - 80


def test_resolution_met_in_time() -> None:
    events = [ev(5, "first_response"), ev(50, "update"), ev(100, "resolved")]
    status = evaluate(1000, events)
    assert status.resolved
    assert status.resolution.state == "met"
    assert status.resolution.met_at == at(100)
    assert status.resolution.due_at is None
    assert status.resolution.minutes_left == 140
    assert status.next_update is not None
    assert status.next_update.state == "met"
    assert status.worst == "met"
    assert status.next_change_at is None


def test_resolution_met_late_is_a_breach() -> None:
    status = evaluate(1000, [ev(5, "first_response"), ev(300, "resolved")])
    assert status.resolution.state == "breached"
    assert status.resolution.met_at == at(300)
    assert status.resolution.due_at == at(240)
    assert status.next_change_at is None


def test_reopen_resumes_the_resolution_clock_with_time_already_used() -> None:
    events = [ev(5, "first_response"), ev(100, "resolved"), ev(1000, "reopened")]
    status = evaluate(1010, events)
    assert not status.resolved
    resolution = status.resolution
    assert resolution.met_at is None
    assert resolution.minutes_left == 240 - 110  # the resolved time did not count
    assert resolution.due_at == at(1000 + 140)
    assert resolution.warn_at == at(1000 + 92)
    assert status.first_response.state == "met"  # answered once is answered
    assert status.next_update is not None
    assert status.next_update.started_at == at(1000)
    resolved_again = evaluate(1200, [*events, ev(1100, "resolved")])
    assert resolved_again.resolution.met_at == at(1100)
    assert resolved_again.resolution.state == "met"  # 100 + 100 minutes < 240


def test_events_while_resolved_are_ignored() -> None:
    events = [ev(5, "first_response"), ev(100, "resolved"), ev(120, "update"), ev(130, "pause")]
    status = evaluate(1000, events)
    assert status.resolved
    assert not status.paused
    assert status.next_update is not None
    assert status.next_update.started_at == at(5)


def test_future_events_are_ignored_and_early_ones_clamped() -> None:
    status = evaluate(30, [ev(5, "first_response"), ev(100, "resolved")])
    assert not status.resolved
    early = evaluate(30, [ClockEvent(OPENED - timedelta(minutes=3), "first_response")])
    assert early.first_response.met_at == OPENED


def test_events_may_come_unsorted() -> None:
    events = [ev(80, "resume"), ev(5, "first_response"), ev(20, "pause")]
    assert evaluate(90, events) == evaluate(90, sorted(events))


def test_business_hours_apply() -> None:
    opened = datetime(2026, 5, 4, 21, 55, tzinfo=CST)
    status = SlaClock.evaluate(TARGET, DESK, opened_at=opened, events=(), now=opened)
    assert status.first_response.warn_at == datetime(2026, 5, 5, 9, 3, tzinfo=CST)
    assert status.first_response.due_at == datetime(2026, 5, 5, 9, 5, tzinfo=CST)
    night = SlaClock.evaluate(
        TARGET, DESK, opened_at=opened, events=(), now=datetime(2026, 5, 5, 8, tzinfo=CST)
    )
    assert night.first_response.minutes_left == 5
    assert night.first_response.state == "running"


WALK_TARGET = Target(first_response_min=7.3, update_min=33.7, resolution_min=601.1, warn_ratio=0.77)
WALK_EVENTS = [
    ClockEvent(datetime(2026, 5, 4, 21, 56, 12, tzinfo=CST), "first_response"),
    ClockEvent(datetime(2026, 5, 5, 9, 20, tzinfo=CST), "pause"),
    ClockEvent(datetime(2026, 5, 5, 15, 1, 2, 345, tzinfo=CST), "resume"),
    ClockEvent(datetime(2026, 5, 6, 9, 0, 0, 1, tzinfo=CST), "update"),
]
WALK_OPENED = datetime(2026, 5, 4, 21, 51, 30, tzinfo=CST)
BERLIN_DESK = BusinessCalendar("Europe/Berlin", {d: [(time(8), time(20))] for d in range(5)})


@pytest.mark.parametrize(
    ("calendar", "opened", "events"),
    [
        (DESK, WALK_OPENED, WALK_EVENTS),
        (DESK, WALK_OPENED, []),
        (ALWAYS, OPENED, [ClockEvent(OPENED + timedelta(seconds=100), "update")]),
        (BERLIN_DESK, datetime(2026, 3, 27, 19, 58, tzinfo=UTC), []),  # across the DST change
    ],
    ids=["desk-with-events", "desk-idle", "always-open", "berlin-dst"],
)
def test_next_change_at_is_exactly_when_a_state_changes(
    calendar: BusinessCalendar, opened: datetime, events: list[ClockEvent]
) -> None:
    """Walk a ticket as the scheduler does: wake at each event and at each next_change_at."""

    def status(now: datetime) -> SlaStatus:
        return SlaClock.evaluate(WALK_TARGET, calendar, opened_at=opened, events=events, now=now)

    now = opened
    before = status(now)
    seen = transitions(None, before)
    wakeups = 0
    while True:
        wake = before.next_change_at
        next_event = min((event.at for event in events if event.at > now), default=None)
        if next_event is not None and (wake is None or next_event <= wake):
            after = status(next_event)  # something happened: evaluate again, no promise here
            seen += transitions(before, after)
            before, now = after, next_event
            continue
        if wake is None:
            break
        assert wake > now
        # Nothing moves one microsecond early ...
        just_before = status(wake - TICK)
        assert [c.state for c in just_before.clocks] == [c.state for c in before.clocks]
        assert transitions(before, just_before) == []
        assert just_before.next_change_at == wake
        # ... and at the wake-up instant some clock enters warning or breached.
        after = status(wake)
        alerts = transitions(before, after)
        assert alerts, f"nothing changed at {wake}"
        assert all(alert.at == wake for alert in alerts)
        seen += alerts
        before, now = after, wake
        wakeups += 1
        assert wakeups < 50
    assert wakeups >= 2
    assert "breached" in [alert.state for alert in seen]


def _clock(**changes: Any) -> ClockStatus:
    base = ClockStatus(
        name="resolution",
        state="running",
        started_at=OPENED,
        due_at=at(240),
        warn_at=at(192),
        met_at=None,
        minutes_left=100,
        paused=False,
    )
    return ClockStatus(**{**base.__dict__, **changes})


def test_transitions_report_new_warnings_and_breaches_once() -> None:
    fresh = evaluate(0)
    assert transitions(None, fresh) == []
    warning = evaluate(8)
    (alert,) = transitions(fresh, warning)
    assert (alert.clock, alert.state, alert.at, alert.due_at) == (
        "first_response",
        "warning",
        at(8),
        at(10),
    )
    assert not alert.escalate
    assert transitions(warning, evaluate(9)) == []
    breached = evaluate(10)
    (alert,) = transitions(warning, breached)
    assert (alert.clock, alert.state, alert.at, alert.minutes_left) == (
        "first_response",
        "breached",
        at(10),
        0,
    )
    assert alert.escalate
    assert transitions(breached, evaluate(11)) == []


def test_a_late_evaluation_skips_the_stale_warning() -> None:
    alerts = transitions(evaluate(0), evaluate(300))
    assert [(a.clock, a.state, a.at) for a in alerts] == [
        ("first_response", "breached", at(10)),
        ("resolution", "breached", at(240)),
    ]
    assert transitions(None, evaluate(9)) == [
        SlaAlert("first_response", "warning", at(8), at(10), 1, None)
    ]


def test_a_target_met_late_is_reported_but_not_escalated() -> None:
    before = evaluate(9)
    after = evaluate(11, [ev(10.5, "first_response")])
    (alert,) = transitions(before, after)
    assert (alert.state, alert.met_at, alert.escalate) == ("breached", at(10.5), False)


def test_a_new_update_cycle_is_judged_afresh() -> None:
    events = [ev(0, "first_response")]
    breached = evaluate(61, events)
    assert breached.next_update is not None and breached.next_update.state == "breached"
    again = evaluate(125, [*events, ev(62, "update")])
    assert again.next_update is not None and again.next_update.state == "breached"
    alerts = transitions(breached, again)
    assert [(a.clock, a.state, a.at) for a in alerts] == [("next_update", "breached", at(122))]


def test_worst_order() -> None:
    status = evaluate(0)
    for states, worst in [
        (("met", "paused"), "paused"),
        (("met", "running"), "running"),
        (("paused", "warning"), "warning"),
        (("breached", "met"), "breached"),
    ]:
        custom = SlaStatus(
            evaluated_at=status.evaluated_at,
            first_response=_clock(name="first_response", state=states[0]),
            next_update=None,
            resolution=_clock(state=states[1]),
            paused=False,
            resolved=False,
            next_change_at=None,
        )
        assert custom.worst == worst


def test_naive_datetimes_and_bad_events_are_rejected() -> None:
    naive = datetime(2026, 5, 4, 10)
    with pytest.raises(ValueError, match="opened_at must be timezone-aware"):
        SlaClock.evaluate(TARGET, ALWAYS, opened_at=naive, events=(), now=at(1))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        SlaClock.evaluate(TARGET, ALWAYS, opened_at=OPENED, events=(), now=naive)
    with pytest.raises(ValueError, match="pause event time must be timezone-aware"):
        SlaClock.evaluate(
            TARGET, ALWAYS, opened_at=OPENED, events=[ClockEvent(naive, "pause")], now=at(1)
        )
    with pytest.raises(ValueError, match="unknown clock event 'escalated'"):
        evaluate(1, [ClockEvent(at(0), "escalated")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before opened_at"):
        evaluate(-1)


def test_warn_ratio_one_means_no_warning() -> None:
    target = Target(first_response_min=10, update_min=None, resolution_min=240, warn_ratio=1)
    status = evaluate(9.9, target=target)
    assert status.first_response.state == "running"
    assert status.first_response.warn_at is None
    assert status.next_change_at == at(10)


def test_calendar_from_the_policy_calendar() -> None:
    policy_calendar = Calendar(
        timezone="Asia/Shanghai",
        hours={
            "mon": "09:00-12:00, 13:00-18:00",
            "tue": "09:00-18:00",
            "wed": "09:00-18:00",
            "thu": "09:00-18:00",
            "fri": "09:00-18:00",
            "sat": "closed",
            "sun": "closed",
        },
        holidays=(date(2026, 5, 5),),
        special_days={date(2026, 5, 9): "10:00-12:00"},
    )
    calendar = calendar_from(policy_calendar)
    assert calendar.timezone == "Asia/Shanghai"
    assert not calendar.always_open
    assert calendar.holidays == {date(2026, 5, 5)}
    monday = datetime(2026, 5, 4, 11, 50, tzinfo=CST)
    assert calendar.add(monday, 20) == datetime(2026, 5, 4, 13, 10, tzinfo=CST)  # lunch break
    assert calendar.add(datetime(2026, 5, 4, 17, 50, tzinfo=CST), 20) == datetime(
        2026, 5, 6, 9, 10, tzinfo=CST
    )  # Tuesday is a holiday
    assert calendar.add(datetime(2026, 5, 8, 18, tzinfo=CST), 30) == datetime(
        2026, 5, 9, 10, 30, tzinfo=CST
    )  # the Saturday make-up day
    always = calendar_from(policy_calendar.model_copy(update={"always_open": True}))
    assert always.add(datetime(2026, 5, 9, 23, tzinfo=CST), 60) == datetime(
        2026, 5, 10, 0, tzinfo=CST
    )
