"""The forecast on hand-made histories: a steady pattern, weights, a trend, event multipliers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tingyin.reports.forecast import SLOTS, forecast, weekly_trend

END = date(2026, 11, 20)  # a Friday; history is the days before it


def steady(weeks: int, lunch: float = 30, dinner: float = 50) -> dict[tuple[date, int], float]:
    history = {}
    for d in range(7 * weeks):
        day = END - timedelta(days=d + 1)
        for slot in range(SLOTS):
            history[(day, slot)] = lunch if slot in (23, 24) else dinner if slot in (35, 36) else 2
    return history


def test_a_steady_week_is_forecast_as_it_was() -> None:
    out = forecast(steady(4), start=END, days=2, history_end=END)
    assert len(out) == 2 * SLOTS
    by = {(f.day, f.slot): f.calls for f in out}
    assert by[(END, 23)] == pytest.approx(30)
    assert by[(END, 36)] == pytest.approx(50)
    assert by[(END + timedelta(days=1), 3)] == pytest.approx(2)
    assert out[23].label == "11:30"


def test_recent_weeks_weigh_more() -> None:
    # Fridays: 4 weeks ago 10 calls at 12:00, then 20, 30, 40 (last week). Weights 1, 2, 3, 4.
    history = {}
    for k, calls in enumerate((40, 30, 20, 10)):
        history[(END - timedelta(days=7 * (k + 1)), 24)] = float(calls)
    flat = {key: 0.0 for key in steady(4)} | history  # no trend: the other slots are empty
    (friday,) = [f for f in forecast(flat, start=END, days=1, history_end=END) if f.slot == 24]
    weighted = (40 * 4 + 30 * 3 + 20 * 2 + 10 * 1) / 10
    trend = weekly_trend([10, 20, 30, 40])  # the weekly totals grow too
    assert trend > 0
    assert friday.calls > weighted  # the trend lifts it beyond the weighted average


def test_trend_and_events() -> None:
    growing = {}
    for w in range(4):  # weekly totals 100, 200, 300, 400 (oldest first)
        for d in range(7):
            day = END - timedelta(days=7 * (4 - w) - d)
            growing[(day, 24)] = (w + 1) * 100 / 7
    assert weekly_trend([100, 200, 300, 400]) == pytest.approx(100 / 250)
    base = forecast(growing, start=END, days=1, history_end=END)[24].calls
    storm = forecast(growing, start=END, days=1, history_end=END, events={END: 1.5})[24].calls
    assert storm == pytest.approx(base * 1.5)
    assert base <= (400 / 7) * 1.5  # the trend is clamped


def test_no_history_forecasts_nothing() -> None:
    assert all(f.calls == 0 for f in forecast({}, start=END, days=1, history_end=END))
