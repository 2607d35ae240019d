"""The screen pop's pure logic: what is wrong with an order, which orders matter, what to offer.

No I/O: everything takes the records and ``now`` and returns values, so each rule is tested in
microseconds and behaves the same whichever order source the records came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from tingyin.bus.context import Anomaly, Suggestion, TimelineStep
from tingyin.screenpop.policy import Policy, Rule, Thresholds
from tingyin.screenpop.sources import OrderRecord, Party, RiderPing

_MESSAGES = {
    "zh": {
        "late": "已超过承诺送达时间 {m} 分钟，仍未送达",
        "delivered_late": "送达比承诺时间晚了 {m} 分钟",
        "not_accepted": "下单 {m} 分钟，商家仍未接单",
        "merchant_slow": "商家接单 {m} 分钟仍未出餐",
        "pickup_slow": "出餐 {m} 分钟，骑手仍未取餐",
        "rider_not_moving": "骑手位置 {m} 分钟没有变化",
        "rider_silent": "骑手 {m} 分钟没有上报位置",
        "cancelled_by_rider": "骑手取消了订单",
        "cancelled_by_merchant": "商家取消了订单",
        "refund_pending": "退款申请已等待 {m} 分钟，尚未退款",
    },
    "en": {
        "late": "{m} min past the promised time and not delivered",
        "delivered_late": "Delivered {m} min after the promised time",
        "not_accepted": "Placed {m} min ago and no merchant has accepted it",
        "merchant_slow": "Accepted {m} min ago and still not ready",
        "pickup_slow": "Ready {m} min ago and not picked up",
        "rider_not_moving": "The rider has not moved for {m} min",
        "rider_silent": "The rider has not reported a position for {m} min",
        "cancelled_by_rider": "The rider cancelled the order",
        "cancelled_by_merchant": "The merchant cancelled the order",
        "refund_pending": "Refund requested {m} min ago, not refunded yet",
    },
}


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def _last(timeline: Sequence[TimelineStep], kind: str) -> TimelineStep | None:
    for step in reversed(timeline):
        if step.kind == kind:
            return step
    return None


def find_anomalies(
    order: OrderRecord, now: datetime, thresholds: Thresholds, language: str = "zh"
) -> tuple[Anomaly, ...]:
    """What is wrong with this order as of ``now``, worst first."""
    text = _MESSAGES.get(language, _MESSAGES["zh"])
    found: list[Anomaly] = []

    def add(kind: str, severity: str, minutes: float = 0.0, message: str | None = None) -> None:
        body = text[message or kind].format(m=round(minutes))
        found.append(Anomaly(kind=kind, severity=severity, message=body, minutes=minutes))

    timeline = order.timeline
    grace = timedelta(minutes=thresholds.late_grace_minutes)
    if order.active and now > order.promised_at + grace:
        late = _minutes(now - order.promised_at)
        add("late", "critical" if late >= 20 else "warning", late)
    elif order.delivered_at is not None and order.delivered_at > order.promised_at + grace:
        add("late", "info", _minutes(order.delivered_at - order.promised_at), "delivered_late")

    placed, accepted = _last(timeline, "placed"), _last(timeline, "accepted")
    ready = _last(timeline, "ready")
    if order.status == "placed":
        waited = _minutes(now - (placed.at if placed else order.placed_at))
        if waited >= thresholds.accept_minutes:
            add("not_accepted", "warning", waited)
    if order.status == "accepted" and accepted is not None:
        waited = _minutes(now - accepted.at)
        if waited >= thresholds.prepare_minutes:
            add("merchant_slow", "warning", waited)
    if order.status == "ready" and ready is not None:
        waited = _minutes(now - ready.at)
        if waited >= thresholds.pickup_minutes:
            add("pickup_slow", "warning", waited)
    if order.status == "picked_up":
        still = rider_still_minutes(order, now, thresholds.rider_still_meters)
        if still is not None and still[0] >= thresholds.rider_still_minutes:
            add("rider_not_moving", "warning", still[0], None if still[1] else "rider_silent")

    cancelled = _last(timeline, "cancelled")
    if order.status == "cancelled" and cancelled is not None:
        if cancelled.actor == "rider":
            add("cancelled_by_rider", "critical")
        elif cancelled.actor == "merchant":
            add("cancelled_by_merchant", "warning")
    requested = _last(timeline, "refund_requested")
    if requested is not None and _last(timeline, "refunded") is None:
        add("refund_pending", "warning", _minutes(now - requested.at))

    order_of = {"critical": 0, "warning": 1, "info": 2}
    return tuple(sorted(found, key=lambda a: order_of[a.severity]))


def rider_still_minutes(
    order: OrderRecord, now: datetime, meters: float
) -> tuple[float, bool] | None:
    """Minutes the rider has stayed within ``meters`` (True) or been silent (False); None: n/a."""
    picked = _last(order.timeline, "picked_up")
    since = picked.at if picked else order.placed_at
    pings = [p for p in order.rider_pings if p.at >= since]
    if not pings:
        return _minutes(now - since), False
    last = pings[-1]
    if _minutes(now - last.at) >= 5:  # no news is its own anomaly: the rider went quiet
        return _minutes(now - last.at), False
    start = last
    for ping in reversed(pings):
        if distance_m(ping, last) > meters:
            break
        start = ping
    return _minutes(now - start.at), True


def distance_m(a: RiderPing, b: RiderPing) -> float:
    """Great-circle distance in metres (haversine): plenty for 'has the rider moved?'."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def flagged_words(text: str, words: Iterable[str]) -> tuple[str, ...]:
    """The words of ``words`` that occur in ``text``, longest first, without overlaps."""
    found: list[str] = []
    for word in sorted(set(words), key=len, reverse=True):
        if word and word in text and not any(word in longer for longer in found):
            found.append(word)
    return tuple(found)


def customer_flags(party: Party | None, now: datetime, thresholds: Thresholds) -> tuple[str, ...]:
    if party is None or party.kind != "customer":
        return ()
    flags = []
    if party.vip:
        flags.append("vip")
    if party.complaints_90d >= thresholds.frequent_complainer:
        flags.append("frequent_complainer")
    recent = now - timedelta(days=thresholds.new_customer_days)
    if party.registered_at is not None and party.registered_at >= recent:
        flags.append("new_customer")
    return tuple(flags)


def rank_orders(
    orders: Iterable[OrderRecord], anomalies: dict[str, tuple[Anomaly, ...]]
) -> list[OrderRecord]:
    """Most relevant first: orders in progress, then ones with something wrong, then newest."""

    def key(order: OrderRecord) -> tuple[int, int, float]:
        troubled = any(a.severity != "info" for a in anomalies.get(order.order_no, ()))
        return (0 if order.active else 1, 0 if troubled else 1, -order.placed_at.timestamp())

    return sorted(orders, key=key)


def food_safety_risk(order: OrderRecord | None, heard: str, policy: Policy, now: datetime) -> bool:
    """Food-safety words heard from the caller, or in a recent delivered order's remarks."""
    words = policy.words.food_safety
    if heard and flagged_words(heard, words):
        return True
    if order is None or order.delivered_at is None:
        return False
    recent = now - order.delivered_at <= timedelta(hours=policy.thresholds.recent_delivery_hours)
    return recent and bool(flagged_words(order.remarks, words))


def suggest(
    policy: Policy,
    *,
    caller_kind: str,
    order: OrderRecord | None,
    anomalies: Sequence[Anomaly],
    flags: Sequence[str],
    now: datetime,
    heard: str = "",
) -> Suggestion:
    """The first rule of the policy that matches, as the predicted reason and the remedy."""
    food_safety = food_safety_risk(order, heard, policy, now)
    for rule in policy.rules:
        if _matches(rule, caller_kind, order, anomalies, flags, now, food_safety):
            return Suggestion(
                reason=rule.reason,
                reason_label=rule.reason_label,
                remedy=rule.remedy,
                remedy_label=rule.remedy_label,
                priority=rule.priority,
                amount_fen=round(rule.amount_yuan * 100),
                rule=rule.id,
            )
    return Suggestion(reason="unknown", reason_label="", remedy="none", remedy_label="")


def _matches(
    rule: Rule,
    caller_kind: str,
    order: OrderRecord | None,
    anomalies: Sequence[Anomaly],
    flags: Sequence[str],
    now: datetime,
    food_safety: bool,
) -> bool:
    if rule.caller is not None and rule.caller != caller_kind:
        return False
    if rule.flag is not None and rule.flag not in flags:
        return False
    if rule.food_safety is not None and rule.food_safety != food_safety:
        return False
    if rule.anomaly is not None:
        hit = [a for a in anomalies if a.kind == rule.anomaly and a.severity != "info"]
        if not hit or (rule.min_minutes is not None and hit[0].minutes < rule.min_minutes):
            return False
    if rule.status is not None and (order is None or order.status not in rule.status):
        return False
    if rule.delivered_within_hours is not None:
        if order is None or order.delivered_at is None:
            return False
        if now - order.delivered_at > timedelta(hours=rule.delivered_within_hours):
            return False
    return True
