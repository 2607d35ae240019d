"""Working hours in policy files: ``"09:00-14:00, 17:00-22:00"`` per weekday, and the calendar.

Shared by the ticket policy (when SLA clocks run) and the follow-up survey (when customers may
be called), so both read hours the same way and report mistakes with their place.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, time
from itertools import pairwise
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # date.weekday() order

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Strict(BaseModel):
    """Policy sections: unknown keys are mistakes, and a loaded policy never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Calendar(Strict):
    """When the SLA clock runs: working hours per weekday, in ``timezone``, except holidays.

    Hours are ``"HH:MM-HH:MM"``, several joined by commas, or ``"closed"``; ``24:00`` (or an end
    of ``00:00``) is midnight at the end of the day. ``special_days`` give a date its own hours
    and win over the weekday and the holidays (调休 make-up working days, short hours on New
    Year's Eve). ``always_open`` counts every minute, whatever the hours say.
    """

    timezone: str = "Asia/Shanghai"
    always_open: bool = False
    hours: dict[Weekday, str]
    holidays: tuple[date, ...] = ()
    special_days: dict[date, str] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[Weekday, str]) -> dict[Weekday, str]:
        missing = [day for day in WEEKDAYS if day not in value]
        if missing:
            raise ValueError(f'no hours for {", ".join(missing)} (write "closed" if closed)')
        for day, text in value.items():
            parse_hours(day, text)
        return value

    @field_validator("special_days")
    @classmethod
    def _special(cls, value: dict[date, str]) -> dict[date, str]:
        for day, text in value.items():
            parse_hours(day.isoformat(), text)
        return value

    @model_validator(mode="after")
    def _open_sometime(self) -> Calendar:
        if not self.always_open and not any(self.intervals(n) for n in range(7)):
            raise ValueError("calendar: closed every day of the week (always_open = true?)")
        return self

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def intervals(self, weekday: int) -> tuple[tuple[time, time], ...]:
        """Open ``(start, end)`` wall times for ``date.weekday()``; end ``time(0)``: midnight."""
        day = WEEKDAYS[weekday]
        return parse_hours(day, self.hours[day])

    def weekly_hours(self) -> dict[int, tuple[tuple[time, time], ...]]:
        """Weekday (0 = Monday) → open intervals, as ``tickets.calendar.BusinessCalendar`` takes."""
        return {n: self.intervals(n) for n in range(7)}

    def special_hours(self) -> dict[date, tuple[tuple[time, time], ...]]:
        return {day: parse_hours(day.isoformat(), text) for day, text in self.special_days.items()}

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays


def parse_hours(where: str, text: str) -> tuple[tuple[time, time], ...]:
    """``"09:00-14:00, 17:00-22:00"`` → wall-time intervals; ``"closed"`` → ()."""
    if text.strip().lower() == "closed":
        return ()
    spans: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _HOURS.match(part.strip())
        if match is None:
            raise ValueError(f'{where}: {part.strip()!r} is not "HH:MM-HH:MM" or "closed"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise ValueError(f"{where}: {part.strip()!r} is not a time of day")
        start, end = h1 * 60 + m1, (h2 * 60 + m2) or 24 * 60
        if start >= end:
            raise ValueError(
                f"{where}: {part.strip()!r} ends before it starts (split a shift across "
                "midnight into two days)"
            )
        spans.append((start, end))
    spans.sort()
    for (_, first_end), (second_start, _) in pairwise(spans):
        if second_start < first_end:
            raise ValueError(f"{where}: {text!r} has overlapping intervals")
    return tuple((time(a // 60, a % 60), time((b // 60) % 24, b % 60)) for a, b in spans)
