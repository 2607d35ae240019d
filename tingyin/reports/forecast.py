"""Call volume forecast per half hour for the coming days, from the history of past half hours.

Sans-I/O. For a target day and slot (0 … 47, local time) the base is the weighted average of the
same weekday and slot over the last ``weeks`` weeks, the most recent week weighing most
(weights ``weeks, weeks-1, … 1``): lunch and dinner peaks and the weekday pattern come from
there. A simple trend scales it: the least-squares slope of the weekly totals, relative to
their weighted mean, times how many weeks the target lies past that mean's centre, clamped to
``±MAX_TREND``. Known events (holidays, a storm warning) are multipliers given per date:
data the planner supplies, not something this model guesses. Missing history counts as zero
calls only for weeks the history covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

SLOTS = 48  # half hours per day
MAX_TREND = 0.5  # the trend moves a forecast by at most ±50 %


@dataclass(frozen=True)
class SlotForecast:
    day: date
    slot: int  # 0 … 47: slot 23 is 11:30–12:00 local time
    calls: float

    @property
    def label(self) -> str:
        minutes = self.slot * 30
        return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekly_trend(totals: list[float]) -> float:
    """Relative change per week of ``totals`` (oldest first): slope / mean, 0 for < 2 weeks."""
    n = len(totals)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(totals) / n
    if mean_y <= 0:
        return 0.0
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(totals))
    return (sxy / sxx) / mean_y


def forecast(
    history: Mapping[tuple[date, int], float],
    *,
    start: date,
    days: int,
    weeks: int = 4,
    history_end: date,
    events: Mapping[date, float] | None = None,
) -> list[SlotForecast]:
    """Forecast ``days`` days from ``start``; ``history`` maps (local day, slot) → calls for
    days before ``history_end`` (exclusive). Days without an entry count as zero calls."""
    if weeks < 1 or days < 0:
        raise ValueError("weeks must be >= 1 and days >= 0")
    events = events or {}
    first_day = min((d for d, _slot in history), default=history_end)
    # Weekly totals of the last ``weeks`` full weeks, oldest first (for the trend).
    totals: list[float] = []
    for w in range(weeks, 0, -1):
        week_start = history_end - timedelta(days=7 * w)
        if week_start < first_day:
            continue
        totals.append(
            sum(
                history.get((week_start + timedelta(days=d), s), 0.0)
                for d in range(7)
                for s in range(SLOTS)
            )
        )
    trend = weekly_trend(totals)
    weights = list(range(len(totals), 0, -1))  # most recent first
    centre = (
        sum(w * (i + 0.5) for i, w in enumerate(weights)) / sum(weights) if weights else 0.0
    )  # in weeks before history_end
    out: list[SlotForecast] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        ahead = (day - history_end).days / 7 + centre
        factor = 1.0 + max(-MAX_TREND, min(MAX_TREND, trend * ahead))
        factor *= events.get(day, 1.0)
        # The same weekday in the past weeks: the latest such day before history_end first.
        back = (history_end - day).days % 7 or 7
        latest = history_end - timedelta(days=back)
        samples: list[tuple[date, int]] = []
        for k in range(weeks):
            past = latest - timedelta(days=7 * k)
            if past >= first_day:
                samples.append((past, weeks - k))
        total_weight = sum(w for _d, w in samples)
        for slot in range(SLOTS):
            if total_weight == 0:
                base = 0.0
            else:
                base = sum(history.get((d, slot), 0.0) * w for d, w in samples) / total_weight
            out.append(SlotForecast(day, slot, base * factor))
    return out
