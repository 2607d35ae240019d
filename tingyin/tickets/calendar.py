"""Business hours: how many minutes of service-desk time lie between two instants.

Pure logic, no I/O. Instants come in and go out as timezone-aware datetimes (returned in UTC);
the opening hours are wall-clock times in the calendar's own zone, so a 09:00–22:00 desk stays
09:00–22:00 across daylight-saving changes, and a business minute is always a real minute.

Each local day is turned into its open intervals in UTC once (and cached), and both ``add`` and
``between`` walk those day by day, so a three-day SLA costs a handful of steps, not 4 320.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Hours = Mapping[int, Sequence[tuple[time, time]]]

DAY = timedelta(days=1)
ZERO = timedelta(0)
MIDNIGHT = time(0)

# A food-delivery service desk: lunch and dinner rushes included, every day of the week.
FOOD_DELIVERY_HOURS: dict[int, list[tuple[time, time]]] = {
    weekday: [(time(9), time(22))] for weekday in range(7)
}

_CACHE_DAYS = 4096

_Interval = tuple[datetime, datetime]
_Offsets = tuple[tuple[timedelta, timedelta], ...]


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; ValueError for a naive datetime (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _offsets(where: str, intervals: Sequence[tuple[time, time]]) -> _Offsets:
    """Sorted, non-overlapping (start, end) offsets from local midnight; end 00:00 is 24:00."""
    spans: list[tuple[timedelta, timedelta]] = []
    for interval in intervals:
        if len(interval) != 2:
            raise ValueError(f"{where}: an interval is a (start, end) pair, got {interval!r}")
        start, end = interval
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"{where}: interval {interval!r} must hold two datetime.time values")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: use naive wall-clock times; the zone is the calendar's")
        begin = timedelta(hours=start.hour, minutes=start.minute, seconds=start.second)
        begin += timedelta(microseconds=start.microsecond)
        if end == MIDNIGHT:
            finish = DAY
        else:
            finish = timedelta(hours=end.hour, minutes=end.minute, seconds=end.second)
            finish += timedelta(microseconds=end.microsecond)
        if finish <= begin:
            raise ValueError(
                f"{where}: interval {start.isoformat()}–{end.isoformat()} ends before it starts "
                "(write an overnight shift as two intervals, one ending at 00:00)"
            )
        spans.append((begin, finish))
    spans.sort()
    for (_, previous_end), (next_start, _) in pairwise(spans):
        if next_start < previous_end:
            raise ValueError(f"{where}: intervals overlap")
    return tuple(spans)


class BusinessCalendar:
    """Opening hours per weekday (0 = Monday) in one zone, minus holidays.

    ``hours`` maps a weekday to its open intervals as wall-clock ``(start, end)`` times; an end
    of ``time(0)`` means midnight at the end of the day, and a weekday left out is closed. An
    overnight shift is two intervals (``(22:00, 00:00)`` on one day, ``(00:00, 02:00)`` on the
    next). ``holidays`` are local dates closed all day. ``special_days`` give a date its own
    hours and win over both (调休 make-up working days, short hours on New Year's Eve; an empty
    list closes the day). ``always_open`` counts every minute, whatever the hours say.

    Wall times that do not exist (the hour skipped when clocks go forward) are shifted forward by
    the gap, as most schedulers do; a business minute is always a real elapsed minute.
    """

    def __init__(
        self,
        timezone: str = "Asia/Shanghai",
        hours: Hours | None = None,
        holidays: Iterable[date] = (),
        always_open: bool = False,
        special_days: Mapping[date, Sequence[tuple[time, time]]] | None = None,
    ) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        self.timezone = timezone
        self.always_open = always_open
        chosen = FOOD_DELIVERY_HOURS if hours is None else hours
        weekly: list[_Offsets] = [() for _ in range(7)]
        for weekday, intervals in chosen.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"hours: weekday must be 0 (Monday) to 6, got {weekday!r}")
            weekly[weekday] = _offsets(f"hours[{weekday}]", intervals)
        if not always_open and not any(weekly):
            raise ValueError("hours: no open interval on any weekday (use always_open=True?)")
        self._weekly = tuple(weekly)
        self.holidays = frozenset(_plain_date("holidays", day) for day in holidays)
        self._special = {
            _plain_date("special_days", day): _offsets(f"special_days[{day.isoformat()}]", spans)
            for day, spans in (special_days or {}).items()
        }
        # Longest possible run of closed days, so a search cannot spin forever.
        self._max_closed_run = 7 * (len(self.holidays) + len(self._special) + 2)
        self._cache: dict[date, tuple[_Interval, ...]] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(timezone={self.timezone!r}, always_open={self.always_open}, "
            f"holidays={len(self.holidays)}, special_days={len(self._special)})"
        )

    # -- public API -----------------------------------------------------------------------

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` business minutes after ``start`` (UTC).

        Starting outside opening hours counts from the next opening. ``add(start, 0)`` is
        ``start`` itself. In general it is the earliest ``t`` with ``between(start, t) >=
        minutes``, so ``between(start, add(start, m)) == m``.
        """
        if isinstance(minutes, bool) or not math.isfinite(minutes) or minutes < 0:
            raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
        return self.add_duration(start, timedelta(minutes=minutes))

    def between(self, a: datetime, b: datetime) -> float:
        """Business minutes from ``a`` to ``b``; 0 when ``b <= a``."""
        return self.duration_between(a, b) / timedelta(minutes=1)

    def add_duration(self, start: datetime, delta: timedelta) -> datetime:
        """``add`` with an exact ``timedelta`` (microseconds), as the SLA clock uses it."""
        at = require_aware(start, "start")
        if delta < ZERO:
            raise ValueError(f"delta must be >= 0, got {delta}")
        if delta == ZERO:
            return at
        if self.always_open:
            return at + delta
        remaining = delta
        day = self._local_date(at)
        closed_run = 0
        while True:
            intervals = self._intervals(day)
            closed_run = 0 if intervals else closed_run + 1
            if closed_run > self._max_closed_run:  # pragma: no cover - guarded by __init__
                raise RuntimeError(f"no opening hours found after {day.isoformat()}")
            for opens, closes in intervals:
                if closes <= at:
                    continue
                begin = max(opens, at)
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += DAY

    def duration_between(self, a: datetime, b: datetime) -> timedelta:
        """``between`` as an exact ``timedelta``."""
        begin = require_aware(a, "a")
        end = require_aware(b, "b")
        if end <= begin:
            return ZERO
        if self.always_open:
            return end - begin
        total = ZERO
        day = self._local_date(begin)
        last = self._local_date(end)
        while day <= last:
            for opens, closes in self._intervals(day):
                overlap = min(closes, end) - max(opens, begin)
                if overlap > ZERO:
                    total += overlap
            day += DAY
        return total

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside opening hours."""
        instant = require_aware(at, "at")
        if self.always_open:
            return True
        return any(opens <= instant < closes for opens, closes in self._intervals_at(instant))

    # -- internals ------------------------------------------------------------------------

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _intervals_at(self, instant: datetime) -> tuple[_Interval, ...]:
        return self._intervals(self._local_date(instant))

    def _wall(self, day: date, offset: timedelta) -> datetime:
        """Local wall-clock ``day`` + ``offset`` as a UTC instant (a gap shifts forward)."""
        naive = datetime.combine(day, MIDNIGHT) + offset
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def _intervals(self, day: date) -> tuple[_Interval, ...]:
        """The day's open intervals in UTC: sorted, disjoint, inside the local day."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self._special:
            offsets = self._special[day]
        elif day in self.holidays:
            offsets = ()
        else:
            offsets = self._weekly[day.weekday()]
        day_start = self._wall(day, ZERO)
        day_end = self._wall(day + DAY, ZERO)
        intervals: list[_Interval] = []
        floor = day_start
        for begin, finish in offsets:
            opens = max(self._wall(day, begin), floor)
            closes = min(self._wall(day, finish), day_end)
            if closes > opens:
                intervals.append((opens, closes))
                floor = closes
        result = tuple(intervals)
        if len(self._cache) >= _CACHE_DAYS:
            self._cache.clear()
        self._cache[day] = result
        return result


def _plain_date(where: str, day: date) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"{where}: expected a datetime.date, got {day!r}")
    return day
