"""BusinessCalendar: opening hours across nights, weekends, holidays and DST."""

from __future__ import annotations

import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tingyin.tickets.calendar import BusinessCalendar

CST = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
DESK = BusinessCalendar()  # 09:00–22:00 every day, Asia/Shanghai
OFFICE = BusinessCalendar(hours={day: [(time(9), time(18))] for day in range(5)})


def cst(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=CST)


def berlin(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def local(value: datetime, zone: ZoneInfo = CST) -> datetime:
    assert value.tzinfo is UTC
    return value.astimezone(zone)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (cst(2026, 5, 4, 10, 0), 30, cst(2026, 5, 4, 10, 30)),
        (cst(2026, 5, 4, 21, 50), 20, cst(2026, 5, 5, 9, 10)),  # across the night
        (cst(2026, 5, 4, 23, 30), 20, cst(2026, 5, 5, 9, 20)),  # started after closing
        (cst(2026, 5, 5, 3, 0), 0.5, cst(2026, 5, 5, 9, 0, 30)),  # started before opening
        (cst(2026, 5, 4, 21, 0), 60, cst(2026, 5, 4, 22, 0)),  # ends exactly at closing
        (cst(2026, 5, 4, 9, 0), 3 * 13 * 60, cst(2026, 5, 6, 22, 0)),  # three full days
        (cst(2026, 5, 4, 23, 0), 0, cst(2026, 5, 4, 23, 0)),  # nothing to add: start itself
    ],
)
def test_add_over_nights(start: datetime, minutes: float, expected: datetime) -> None:
    assert local(DESK.add(start, minutes)) == expected


def test_between_over_nights() -> None:
    assert DESK.between(cst(2026, 5, 4, 21, 50), cst(2026, 5, 5, 9, 10)) == 20
    assert DESK.between(cst(2026, 5, 4, 22, 30), cst(2026, 5, 5, 8, 59)) == 0
    assert DESK.between(cst(2026, 5, 4, 9), cst(2026, 5, 11, 9)) == 7 * 13 * 60
    assert DESK.between(cst(2026, 5, 5), cst(2026, 5, 4)) == 0
    assert DESK.between(cst(2026, 5, 5, 10), cst(2026, 5, 5, 10)) == 0


def test_weekend_is_skipped() -> None:
    friday = cst(2026, 5, 8, 17, 0)
    assert local(OFFICE.add(friday, 120)) == cst(2026, 5, 11, 10, 0)  # Monday
    assert OFFICE.between(friday, cst(2026, 5, 11, 10, 0)) == 120
    assert local(OFFICE.add(cst(2026, 5, 9, 12), 1)) == cst(2026, 5, 11, 9, 1)  # from Saturday


def test_holidays_and_special_days() -> None:
    national_day = {date(2026, 10, d) for d in range(1, 8)}
    calendar = BusinessCalendar(
        hours={day: [(time(9), time(18))] for day in range(5)},
        holidays=national_day,
        # 调休: Saturday 10 October is a working day, with short hours.
        special_days={date(2026, 10, 10): [(time(10), time(12))]},
    )
    assert local(calendar.add(cst(2026, 9, 30, 17, 30), 60)) == cst(2026, 10, 8, 9, 30)
    assert calendar.between(cst(2026, 9, 30, 17), cst(2026, 10, 8, 10)) == 120
    # Friday 9 October 17:00 + 90 min: 60 on Friday, 30 on the make-up Saturday.
    assert local(calendar.add(cst(2026, 10, 9, 17), 90)) == cst(2026, 10, 10, 10, 30)
    assert calendar.between(cst(2026, 10, 10), cst(2026, 10, 12)) == 120
    assert not calendar.is_open(cst(2026, 10, 2, 10))
    assert calendar.is_open(cst(2026, 10, 10, 11))


def test_split_shift_and_overnight_intervals() -> None:
    night = BusinessCalendar(
        hours={
            day: [(time(0), time(2)), (time(10), time(14)), (time(17), time(0))] for day in range(7)
        }
    )
    # 23:00 + 120 min: one hour before midnight, one after.
    assert local(night.add(cst(2026, 5, 4, 23), 120)) == cst(2026, 5, 5, 1, 0)
    assert local(night.add(cst(2026, 5, 5, 13, 30), 60)) == cst(2026, 5, 5, 17, 30)
    assert night.between(cst(2026, 5, 4), cst(2026, 5, 5)) == (2 + 4 + 7) * 60
    assert night.is_open(cst(2026, 5, 5, 1, 59))
    assert not night.is_open(cst(2026, 5, 5, 2, 0))


def test_always_open() -> None:
    calendar = BusinessCalendar(always_open=True)
    start = datetime(2026, 5, 9, 23, 0, tzinfo=UTC)
    assert calendar.add(start, 90) == start + timedelta(minutes=90)
    assert calendar.between(start, start + timedelta(hours=30)) == 30 * 60
    assert calendar.is_open(start)


def test_any_zone_in_utc_out() -> None:
    start = cst(2026, 5, 4, 21, 50)
    result = DESK.add(start.astimezone(BERLIN), 20)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 5, 5, 1, 10, tzinfo=UTC)


# -- DST: Europe/Berlin springs forward on 29 March 2026 and falls back on 25 October 2026 ------

ROUND_THE_CLOCK = BusinessCalendar("Europe/Berlin", {day: [(time(0), time(0))] for day in range(7)})
BERLIN_DESK = BusinessCalendar("Europe/Berlin")


def test_dst_business_minutes_are_real_minutes() -> None:
    assert ROUND_THE_CLOCK.between(berlin(2026, 3, 28, 12), berlin(2026, 3, 29, 12)) == 23 * 60
    assert ROUND_THE_CLOCK.between(berlin(2026, 10, 24, 12), berlin(2026, 10, 25, 12)) == 25 * 60
    assert BERLIN_DESK.between(berlin(2026, 3, 28, 21), berlin(2026, 3, 29, 10)) == 120
    assert local(BERLIN_DESK.add(berlin(2026, 3, 28, 21, 30), 60), BERLIN) == berlin(
        2026, 3, 29, 9, 30
    )
    assert local(BERLIN_DESK.add(berlin(2026, 10, 24, 21, 30), 60), BERLIN) == berlin(
        2026, 10, 25, 9, 30
    )


def test_dst_gap_shifts_wall_times_forward() -> None:
    # 02:30 does not exist on 29 March; the interval opens at 03:30 CEST, 30 real minutes.
    calendar = BusinessCalendar(
        "Europe/Berlin", {6: [(time(2, 30), time(4))], 0: [(time(9), time(10))]}
    )
    assert calendar.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 30
    assert local(calendar.add(berlin(2026, 3, 29), 1), BERLIN) == berlin(2026, 3, 29, 3, 31)


@pytest.mark.parametrize("calendar", [ROUND_THE_CLOCK, BERLIN_DESK], ids=["24h", "desk"])
@pytest.mark.parametrize("minutes", [0, 1, 59.5, 61, 13 * 60, 1439, 1441, 3 * 24 * 60 + 7])
@pytest.mark.parametrize(
    "start",
    [
        berlin(2026, 3, 28, 21, 15),
        berlin(2026, 3, 29, 1, 45),
        berlin(2026, 3, 29, 3, 0),
        berlin(2026, 10, 24, 23, 59),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first of two
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET, the second
    ],
)
def test_dst_round_trip(calendar: BusinessCalendar, minutes: float, start: datetime) -> None:
    end = calendar.add(start, minutes)
    assert end >= start
    assert calendar.between(start, end) == pytest.approx(minutes, abs=1e-6)
    exact = calendar.add_duration(start, timedelta(minutes=minutes))
    assert calendar.duration_between(start, exact) == timedelta(minutes=minutes)
    if minutes and calendar.is_open(end - timedelta(microseconds=1)):
        assert calendar.add(start, calendar.between(start, end)) == end


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 5, 4, 10)
    aware = cst(2026, 5, 4, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        DESK.add(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        DESK.between(naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        DESK.between(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        DESK.is_open(naive)


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf")])
def test_bad_minutes_are_rejected(minutes: float) -> None:
    with pytest.raises(ValueError, match="minutes"):
        DESK.add(cst(2026, 5, 4, 10), minutes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": {7: [(time(9), time(18))]}}, "weekday"),
        ({"hours": {0: [(time(18), time(9))]}}, "ends before it starts"),
        ({"hours": {0: [(time(9), time(13)), (time(12), time(18))]}}, "overlap"),
        ({"hours": {0: []}}, "no open interval"),
        ({"hours": {0: [(time(9), time(18), time(19))]}}, "pair"),
        ({"holidays": {datetime(2026, 10, 1)}}, "holidays"),
    ],
)
def test_bad_calendars(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


def test_fast_enough_for_thousands_of_tickets() -> None:
    calendar = BusinessCalendar(
        hours={day: [(time(9), time(12)), (time(13), time(22))] for day in range(6)},
        holidays={date(2026, 5, d) for d in range(1, 6)},
    )
    start = cst(2026, 4, 28, 8)
    began = wallclock.perf_counter()
    for n in range(3000):
        at = start + timedelta(minutes=7 * n)
        due = calendar.add(at, 3 * 24 * 60)
        assert calendar.between(at, due) == 3 * 24 * 60
    assert wallclock.perf_counter() - began < 10  # about 0.1 s; generous for a busy machine
