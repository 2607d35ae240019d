"""Pure parts: jieba terms with stop words, rising terms, one call's counts, the ratios."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tingyin.reports.figures import (
    CallTotals,
    call_fact,
    call_figures,
    clock_outcome,
    recurrence,
    satisfaction,
)
from tingyin.reports.keywords import call_terms, rank, rising, terms

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def test_terms_keep_the_words_of_the_trade_and_drop_fillers() -> None:
    got = terms("喂你好，我的外卖骑手送错了地址，饭都洒了，我要退款，商家漏送了一杯奶茶 123")
    assert {"骑手", "送错", "洒了", "退款", "商家", "漏送", "奶茶"} <= set(got)
    assert not {"喂", "你好", "我的", "我要", "了", "123"} & set(got)
    assert call_terms(["退款 退款", "退款"]) == {"退款"}


def test_rank_and_rising() -> None:
    now = Counter({"奶茶": 12, "退款": 10, "骑手": 5, "超时": 1})
    before = Counter({"退款": 9, "骑手": 12, "超时": 9})
    assert [t.term for t in rank(now, 40, limit=2)] == ["奶茶", "退款"]
    assert rank(now, 40)[0].share == pytest.approx(12 / 40)
    up = rising(now, before, 40, 40, min_calls=3)
    assert [r.term for r in up] == ["奶茶"]  # 退款 is flat, 骑手 fell, 超时 is too rare
    assert up[0].new and up[0].lift == pytest.approx((13 / 41) / (1 / 41))


def rows(*items: tuple[float, str, dict[str, object]]) -> list[tuple[datetime, str, dict]]:  # type: ignore[type-arg]
    return [(T0 + timedelta(seconds=s), k, d) for s, k, d in items]


def test_one_call_transferred_counts_once() -> None:
    fact = call_fact(
        rows(
            (1, "ivr", {"node": "welcome"}),
            (8, "ivr_end", {"outcome": "queued"}),
            (8, "queued", {"queue": "customer"}),
            (20, "queue_left", {"outcome": "answered", "waited_seconds": 12}),
            (20, "agent_leg", {"leg_id": "a", "state": "answered"}),
            (80, "agent_leg", {"leg_id": "a", "state": "ended"}),
            (80, "queued", {"queue": "rider"}),  # transferred
            (140, "queue_left", {"outcome": "abandoned", "waited_seconds": 60}),
        ),
        ended_at=T0 + timedelta(seconds=141),
        wrap_seconds=15,
    )
    t = fact.totals
    assert fact.queue == "customer"
    assert (t.offered, t.answered, t.abandoned, t.within_10, t.within_20) == (1, 1, 0, 0, 1)
    assert (t.wait_seconds, t.talk_seconds, t.wrap_seconds, t.handled) == (12, 60, 15, 1)
    assert (t.ivr_entered, t.ivr_contained) == (1, 0)


def test_a_caller_hanging_up_in_the_queue_is_abandoned() -> None:
    fact = call_fact(
        rows((0, "queued", {"queue": "customer"})), ended_at=T0 + timedelta(seconds=30)
    )
    assert (fact.totals.offered, fact.totals.abandoned, fact.totals.handled) == (1, 1, 0)
    still = call_fact(rows((0, "queued", {"queue": "customer"})), ended_at=None)
    assert (still.totals.offered, still.totals.abandoned) == (1, 0)  # still waiting


def test_ratios_say_none_rather_than_zero() -> None:
    f = call_figures(CallTotals())
    assert f.service_level is None and f.asa_seconds is None and f.fcr is None
    with pytest.raises(ValueError):
        CallTotals().within(15)
    s = satisfaction([5, 4, 3, 1, 9])
    assert (s.surveys, s.satisfied, s.csat) == (4, 2, 0.5)
    r = recurrence(100, 6, 0.05)
    assert r.alert and r.rate == 0.06
    assert not recurrence(0, 0).alert
    assert clock_outcome("running", T0, T0 + timedelta(minutes=1)) == "missed"
    assert clock_outcome("running", T0, T0 - timedelta(minutes=1)) == "pending"
    assert clock_outcome("met", None, T0) == "met"
