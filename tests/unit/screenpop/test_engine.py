"""The screen pop's rules on hand-made orders: anomalies, ranking, flags, suggestions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tingyin.bus.context import Suggestion, TimelineStep
from tingyin.screenpop.engine import (
    customer_flags,
    find_anomalies,
    flagged_words,
    rank_orders,
    suggest,
)
from tingyin.screenpop.policy import Policy, load_policy
from tingyin.screenpop.sources import OrderRecord, Party, RiderPing

NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def step(kind: str, minutes_ago: float, actor: str = "system") -> TimelineStep:
    return TimelineStep(at=ago(minutes_ago), kind=kind, actor=actor)


def order(status: str, placed_ago: float = 40, promised_in: float = 0, **kw: object) -> OrderRecord:
    base = OrderRecord(
        order_no=str(kw.pop("order_no", "2611231230000001")),
        channel="meituan",
        status=status,
        customer_id="1",
        customer_name="王女士",
        customer_phone="+8613800000001",
        merchant="老乡鸡",
        store="望京店",
        store_id="1",
        rider="张师傅",
        rider_id="1",
        amount_fen=3650,
        address="北京市朝阳区望京街道 1 号",
        remarks="",
        placed_at=ago(placed_ago),
        promised_at=NOW + timedelta(minutes=promised_in),
        delivered_at=None,
        timeline=(step("placed", placed_ago, "customer"),),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kinds(o: OrderRecord, policy: Policy) -> list[str]:
    return [a.kind for a in find_anomalies(o, NOW, policy.thresholds)]


def test_late_when_past_the_promised_time(policy: Policy) -> None:
    late = order("picked_up", promised_in=-25, timeline=(step("placed", 65), step("picked_up", 20)),
                 rider_pings=(RiderPing(at=ago(1), lat=39.99, lng=116.47),))  # fmt: skip
    found = find_anomalies(late, NOW, policy.thresholds)
    assert [a.kind for a in found] == ["late"]
    assert found[0].minutes == 25 and found[0].severity == "critical"
    assert "25" in found[0].message
    on_time = replace(late, promised_at=NOW + timedelta(minutes=5))
    assert kinds(on_time, policy) == []


def test_delivered_late_is_information_only(policy: Policy) -> None:
    done = order("delivered", promised_in=-60, delivered_at=ago(50))
    found = find_anomalies(done, NOW, policy.thresholds)
    assert [(a.kind, a.severity, a.minutes) for a in found] == [("late", "info", 10.0)]


@pytest.mark.parametrize(
    ("status", "timeline", "expected"),
    [
        ("placed", (step("placed", 12),), "not_accepted"),
        ("accepted", (step("placed", 40), step("accepted", 30)), "merchant_slow"),
        ("ready", (step("placed", 40), step("accepted", 38), step("ready", 16)), "pickup_slow"),
    ],
)
def test_slow_steps(policy: Policy, status: str, timeline: tuple[TimelineStep, ...],
                    expected: str) -> None:  # fmt: skip
    assert kinds(order(status, promised_in=10, timeline=timeline), policy) == [expected]
    fresh = tuple(replace(s, at=NOW - timedelta(minutes=1)) for s in timeline)
    assert kinds(order(status, promised_in=10, timeline=fresh), policy) == []


def test_rider_not_moving_and_rider_silent(policy: Policy) -> None:
    pings = tuple(RiderPing(at=ago(m), lat=39.9900, lng=116.4700) for m in (14, 10, 6, 2))
    stuck = order("picked_up", promised_in=10, timeline=(step("picked_up", 20),), rider_pings=pings)
    found = find_anomalies(stuck, NOW, policy.thresholds)
    assert [(a.kind, a.minutes) for a in found] == [("rider_not_moving", 14.0)]
    moving = tuple(RiderPing(at=ago(m), lat=39.99 + m / 1000, lng=116.47) for m in (14, 10, 6, 2))
    assert kinds(replace(stuck, rider_pings=moving), policy) == []
    silent = replace(stuck, rider_pings=(RiderPing(at=ago(12), lat=39.99, lng=116.47),))
    found = find_anomalies(silent, NOW, policy.thresholds)
    assert found[0].kind == "rider_not_moving" and "上报" in found[0].message


def test_cancellations_and_refunds(policy: Policy) -> None:
    by_rider = order("cancelled", promised_in=10, timeline=(step("cancelled", 10, "rider"),))
    assert kinds(by_rider, policy) == ["cancelled_by_rider"]
    by_merchant = replace(by_rider, timeline=(step("cancelled", 10, "merchant"),))
    assert kinds(by_merchant, policy) == ["cancelled_by_merchant"]
    asked = (step("delivered", 70), step("refund_requested", 30, "customer"))
    pending = order("delivered", promised_in=-60, delivered_at=ago(70), timeline=asked)
    assert kinds(pending, policy) == ["refund_pending"]
    refunded = replace(pending, timeline=(*pending.timeline, step("refunded", 5, "platform")))
    assert kinds(refunded, policy) == []


def test_english_messages(policy: Policy) -> None:
    late = order("accepted", promised_in=-30, timeline=(step("accepted", 5),))
    assert "past the promised time" in find_anomalies(late, NOW, policy.thresholds, "en")[0].message


def test_flagged_words_prefer_the_longest() -> None:
    assert flagged_words("花生过敏，不要放花生，不要敲门", ["过敏", "不要", "不要敲门"]) == (
        "不要敲门",
        "过敏",
    )
    assert flagged_words("", ["过敏"]) == ()


def test_ranking_puts_orders_in_progress_first(policy: Policy) -> None:
    old = order("delivered", placed_ago=600, order_no="1", delivered_at=ago(560), promised_in=-550)
    newer = order("delivered", placed_ago=100, order_no="2", delivered_at=ago(70), promised_in=-60)
    active = order("picked_up", placed_ago=300, order_no="3", promised_in=20,
                   timeline=(step("picked_up", 3),),
                   rider_pings=(RiderPing(at=ago(1), lat=1, lng=1),))  # fmt: skip
    orders = [old, newer, active]
    anomalies = {o.order_no: find_anomalies(o, NOW, policy.thresholds) for o in orders}
    assert [o.order_no for o in rank_orders(orders, anomalies)] == ["3", "2", "1"]


def test_customer_flags(policy: Policy) -> None:
    party = Party(kind="customer", id="1", name="王女士", vip=True, complaints_90d=4,
                  registered_at=NOW - timedelta(days=2))  # fmt: skip
    assert customer_flags(party, NOW, policy.thresholds) == (
        "vip",
        "frequent_complainer",
        "new_customer",
    )
    rider = Party(kind="rider", id="1", name="张师傅")
    assert customer_flags(rider, NOW, policy.thresholds) == ()


def _suggest(
    policy: Policy, o: OrderRecord | None, caller: str = "customer", heard: str = ""
) -> Suggestion:
    anomalies = find_anomalies(o, NOW, policy.thresholds) if o else ()
    return suggest(policy, caller_kind=caller, order=o, anomalies=anomalies, flags=(), now=NOW,
                   heard=heard)  # fmt: skip


def test_suggestions_follow_the_policy(policy: Policy) -> None:
    late25 = order("picked_up", promised_in=-25, timeline=(step("picked_up", 20),),
                   rider_pings=(RiderPing(at=ago(1), lat=1, lng=1),))  # fmt: skip
    s = _suggest(policy, late25)
    assert (s.rule, s.reason, s.remedy, s.amount_fen, s.priority) == (
        "late-20", "late", "coupon", 500, "high",
    )  # fmt: skip
    assert _suggest(policy, replace(late25, promised_at=ago(5))).rule == "late"
    delivered = order("delivered", promised_in=-10, delivered_at=ago(20))
    assert _suggest(policy, delivered).rule == "recent-delivery"
    allergic = replace(delivered, remarks="花生过敏，请不要放花生")
    s = _suggest(policy, allergic)
    assert (s.rule, s.priority) == ("food-safety", "urgent")
    assert _suggest(policy, delivered, heard="吃完以后拉肚子了").rule == "food-safety"
    assert _suggest(policy, late25, caller="rider").rule == "rider-help"
    assert _suggest(policy, None, caller="unknown").rule == "fallback"
