"""The ticket rules: priority, responsible party, approval, status moves, repeats, numbers.

Pure: each function takes the policy (``tickets.policy``), the records and ``now`` where time
matters, and returns values; nothing here reads a clock, a database or the network.

Ticket statuses (``TICKET_STATUSES``) and the moves between them (``TRANSITIONS``):

    accepted 已受理     → in_progress, resolved
    in_progress 处理中  → resolved
    resolved 已解决     → closed, reopened
    closed 已关闭       → reopened
    reopened 已重开     → in_progress, resolved

A ticket is closed only from resolved, so every closed ticket carries a resolution (a duplicate
or a prank is resolved as such, then closed). A resolved or closed ticket comes back as
reopened, never straight to in_progress, so the reopening is on the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from tingyin.bus.context import TimelineStep
from tingyin.screenpop.sources import OrderRecord
from tingyin.tickets.policy import (
    APPROVAL_LEVELS,
    PRIORITIES,
    ApprovalLevel,
    Priority,
    TicketPolicy,
    squash,
)

TICKET_STATUSES = ("accepted", "in_progress", "resolved", "closed", "reopened")
STATUS_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "zh": MappingProxyType(
            {
                "accepted": "已受理",
                "in_progress": "处理中",
                "resolved": "已解决",
                "closed": "已关闭",
                "reopened": "已重开",
            }
        ),
        "en": MappingProxyType(
            {
                "accepted": "Accepted",
                "in_progress": "In progress",
                "resolved": "Resolved",
                "closed": "Closed",
                "reopened": "Reopened",
            }
        ),
    }
)
TRANSITIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "accepted": ("in_progress", "resolved"),
        "in_progress": ("resolved",),
        "resolved": ("closed", "reopened"),
        "closed": ("reopened",),
        "reopened": ("in_progress", "resolved"),
    }
)
# A new ticket may be linked to one of these (a resolved ticket not yet closed included: the
# caller is back because the resolution did not hold).
LINKABLE_STATUSES = frozenset({"accepted", "in_progress", "resolved", "reopened"})

_TEXT = {
    "zh": {
        "default": "按类别「{label}」默认",
        "cancelled_by_rider": "骑手取消了订单",
        "cancelled_by_merchant": "商家取消了订单",
        "accept": "商家接单慢：下单后 {m} 分钟才接单（应在 {e} 分钟内）",
        "accept_open": "商家接单慢：下单 {m} 分钟仍未接单（应在 {e} 分钟内）",
        "prepare": "商家出餐慢：接单后 {m} 分钟才出餐（应在 {e} 分钟内）",
        "prepare_open": "商家出餐慢：接单 {m} 分钟仍未出餐（应在 {e} 分钟内）",
        "pickup": "出餐后骑手取餐慢：出餐后 {m} 分钟才取餐（应在 {e} 分钟内）",
        "pickup_open": "出餐后骑手取餐慢：出餐 {m} 分钟仍未取餐（应在 {e} 分钟内）",
        "on_the_road": "商家按时出餐、骑手按时取餐，延误发生在配送途中",
        "none": "坐席可直接发放",
        "supervisor": "需主管审批",
        "admin": "需管理员审批",
        "tier": "{amount} 元（{limit} 元以内）：{level}",
        "above": "{amount} 元超过 {limit} 元：{level}",
        "kind": "{kind}：{level}",
        "abuse": "该顾客 {days} 天内补偿累计将达 {total} 元，超过 {limit} 元：{level}，疑似滥用",
    },
    "en": {
        "default": "default for the category {label}",
        "cancelled_by_rider": "The rider cancelled the order",
        "cancelled_by_merchant": "The merchant cancelled the order",
        "accept": "Merchant slow to accept: accepted {m} min after it was placed "
        "(expected within {e})",
        "accept_open": "Merchant slow to accept: placed {m} min ago, not accepted "
        "(expected within {e})",
        "prepare": "Kitchen slow: ready {m} min after it was accepted (expected within {e})",
        "prepare_open": "Kitchen slow: accepted {m} min ago, not ready (expected within {e})",
        "pickup": "Rider slow to pick up: picked up {m} min after it was ready "
        "(expected within {e})",
        "pickup_open": "Rider slow to pick up: ready {m} min ago, not picked up "
        "(expected within {e})",
        "on_the_road": "Kitchen and pickup on time: the delay was on the road",
        "none": "the agent may apply it at once",
        "supervisor": "a supervisor must approve",
        "admin": "an admin must approve",
        "tier": "{amount} yuan (up to {limit}): {level}",
        "above": "{amount} yuan is above {limit}: {level}",
        "kind": "{kind}: {level}",
        "abuse": "this customer's compensation in {days} days would reach {total} yuan, above "
        "{limit}: {level}; possible abuse",
    },
}


def _text(language: str) -> dict[str, str]:
    return _TEXT.get(language, _TEXT["zh"])


# ── Priority ────────────────────────────────────────────────────────────────────────────────


def priority_for(
    policy: TicketPolicy,
    category: str,
    text: str,
    *,
    vip: bool,
    frequent_complainer: bool = False,
) -> tuple[Priority, list[str]]:
    """The priority of a new ticket and why, e.g. ``("urgent", ["keyword:过敏", "vip"])``.

    ``text``: the description and the call's transcript. The category's default priority is
    the floor; the highest keyword level found lifts it (its words are the reasons, also when
    they only confirm the default); then VIP and frequent-complainer raises apply, up to urgent.
    An empty reason list means the category's default.
    """
    rules = policy.priority
    level = PRIORITIES.index(policy.category(category).default_priority)
    reasons: list[str] = []
    heard = squash(text)
    for keyword_level in reversed(PRIORITIES):
        hits = [w for w in rules.keywords.get(keyword_level, ()) if squash(w) in heard]
        if hits:
            if PRIORITIES.index(keyword_level) >= level:
                level = PRIORITIES.index(keyword_level)
                reasons.extend(f"keyword:{w}" for w in hits)
            break
    top = len(PRIORITIES) - 1
    for flag, applies, by in (
        ("vip", vip, rules.vip_raise),
        ("frequent_complainer", frequent_complainer, rules.frequent_complainer_raise),
    ):
        if applies and by > 0 and level < top:
            level = min(top, level + by)
            reasons.append(flag)
    return PRIORITIES[level], reasons


# ── Responsibility ──────────────────────────────────────────────────────────────────────────

_MILESTONES = ("placed", "accepted", "ready", "picked_up", "delivered")


def _last(timeline: Sequence[TimelineStep], kind: str) -> TimelineStep | None:
    for step in reversed(timeline):
        if step.kind == kind:
            return step
    return None


def responsibility_for(
    policy: TicketPolicy,
    category: str,
    order: OrderRecord | None,
    *,
    now: datetime | None = None,
    language: str = "zh",
) -> tuple[str, str]:
    """The party suggested as responsible, and why (for the agent, in ``language``).

    The category's ``default_party`` unless the policy's ``[responsibility]`` lets the order's
    timeline decide for this category: a cancelled order goes to whoever cancelled it
    (``by_cancellation``); otherwise (``by_delays``) the step that overran its expectation
    most: placed→accepted or accepted→ready → merchant_kitchen, ready→picked_up → delivery;
    when none overran and the rider has the order, the delay was on the road → delivery. A step
    still under way is measured to ``now`` while the order is active (given ``now``).
    """
    text = _text(language)
    spec = policy.category(category)
    default = spec.default_party, text["default"].format(label=spec.label(language))
    if order is None:
        return default
    rules = policy.responsibility
    timeline = order.timeline
    if category in rules.by_cancellation and order.status == "cancelled":
        cancelled = _last(timeline, "cancelled")
        if cancelled is not None and cancelled.actor == "rider":
            return "delivery", text["cancelled_by_rider"]
        if cancelled is not None and cancelled.actor == "merchant":
            return "merchant_kitchen", text["cancelled_by_merchant"]
    if category not in rules.by_delays:
        return default

    at: dict[str, datetime] = {k: s.at for k in _MILESTONES if (s := _last(timeline, k))}
    at.setdefault("placed", order.placed_at)
    legs = (
        ("accept", "merchant_kitchen", rules.accept_minutes),
        ("prepare", "merchant_kitchen", rules.prepare_minutes),
        ("pickup", "delivery", rules.pickup_minutes),
    )
    worst: tuple[float, str, str] | None = None
    for i, (leg, party, expected) in enumerate(legs):
        start, end = at.get(_MILESTONES[i]), at.get(_MILESTONES[i + 1])
        key = leg
        if start is None:
            continue
        if end is None:
            if any(k in at for k in _MILESTONES[i + 2 :]) or now is None or not order.active:
                continue  # a step missing from the timeline, or no clock: not measurable
            end, key = now, f"{leg}_open"
        minutes = (end - start).total_seconds() / 60
        over = minutes - expected
        if over > 0 and (worst is None or over > worst[0]):
            why = text[key].format(m=round(minutes), e=f"{expected:g}")
            worst = (over, party, why)
    if worst is not None:
        return worst[1], worst[2]
    if "picked_up" in at:
        return "delivery", text["on_the_road"]
    return default


# ── Compensation approval ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Approval:
    level: ApprovalLevel  # none | supervisor | admin
    reason: str
    abuse_flag: bool = False


def _yuan(fen: int) -> str:
    return str(fen // 100) if fen % 100 == 0 else f"{fen / 100:.2f}"


def approval_needed(
    policy: TicketPolicy,
    kind: str,
    amount_fen: int,
    customer_total_30d_fen: int,
    *,
    language: str = "zh",
) -> Approval:
    """Who must approve compensation of ``amount_fen`` of ``kind``.

    The tier the amount falls in (up to and including its ``up_to``; above the last tier:
    admin), at least the kind's ``min_approval``; and when the customer already had
    compensation in the policy's ``window_days`` (``customer_total_30d_fen``, before this one)
    and it plus this amount would exceed the customer limit, at least ``over_limit_approval``,
    flagged as possible abuse. A first compensation above the limit is not flagged: it is one
    large amount, which the tiers already send to an admin.
    """
    comp = policy.compensation
    spec = next((v for k, v in comp.kinds.items() if k == kind), None)
    if spec is None:
        raise ValueError(f"unknown compensation kind {kind!r} (offered: {', '.join(comp.kinds)})")
    if amount_fen < 0 or customer_total_30d_fen < 0:
        raise ValueError("amounts cannot be negative")
    text = _text(language)
    amount = _yuan(amount_fen)
    tier = next((t for t in comp.tiers if amount_fen <= t.up_to_fen), None)
    if tier is not None:
        level: ApprovalLevel = tier.approval
        parts = [text["tier"].format(amount=amount, limit=_yuan(tier.up_to_fen), level=text[level])]
    else:
        level = "admin"
        last = _yuan(comp.tiers[-1].up_to_fen)
        parts = [text["above"].format(amount=amount, limit=last, level=text[level])]

    def at_least(required: ApprovalLevel) -> bool:
        nonlocal level
        if APPROVAL_LEVELS.index(required) > APPROVAL_LEVELS.index(level):
            level = required
            return True
        return False

    if at_least(spec.min_approval):
        parts.append(text["kind"].format(kind=spec.label(language), level=text[level]))
    total = customer_total_30d_fen + amount_fen
    # Accumulation, not one large amount (its tier already asks an admin for that).
    abuse = customer_total_30d_fen > 0 and total > comp.customer_limit_fen
    if abuse:
        at_least(comp.over_limit_approval)
        parts.append(
            text["abuse"].format(
                days=comp.window_days,
                total=_yuan(total),
                limit=_yuan(comp.customer_limit_fen),
                level=text[level],
            )
        )
    return Approval(level=level, reason="；".join(parts), abuse_flag=abuse)


# ── Status transitions ──────────────────────────────────────────────────────────────────────


class InvalidTransition(ValueError):
    pass


def check_transition(current: str, target: str) -> None:
    """Raise InvalidTransition unless a ticket may move from ``current`` to ``target``."""
    for status in (current, target):
        if status not in TRANSITIONS:
            raise InvalidTransition(
                f"unknown ticket status {status!r} (known: {', '.join(TICKET_STATUSES)})"
            )
    allowed = TRANSITIONS[current]
    if target not in allowed:
        zh = STATUS_LABELS["zh"]
        raise InvalidTransition(
            f"a ticket cannot go from {current} ({zh[current]}) to {target} ({zh[target]}); "
            f"from {current} it can go to: {', '.join(allowed)}"
        )


# ── Repeat tickets ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, kw_only=True)
class TicketRef:
    number: str
    order_no: str  # "" when the ticket is about no order
    customer_id: str  # "" when unknown
    category: str
    opened_at: datetime
    status: str


def is_repeat(
    policy: TicketPolicy,
    *,
    new_order_no: str | None,
    new_customer_id: str | None,
    new_category: str,
    open_tickets: Sequence[TicketRef],
    now: datetime,
) -> TicketRef | None:
    """The ticket a new one should be linked to, or None.

    Candidates: not closed, opened within the policy's ``repeat.window_hours`` before ``now``.
    The same order wins (whatever the category); else the same customer and category. Among
    several, the most recently opened. Empty order numbers and customer ids match nothing.
    """
    window = timedelta(hours=policy.repeat.window_hours)
    recent = [
        t for t in open_tickets if t.status in LINKABLE_STATUSES and now - t.opened_at <= window
    ]
    same_order = [t for t in recent if new_order_no and t.order_no == new_order_no]
    if same_order:
        return max(same_order, key=lambda t: t.opened_at)
    same_issue = [
        t
        for t in recent
        if new_customer_id and t.customer_id == new_customer_id and t.category == new_category
    ]
    return max(same_issue, key=lambda t: t.opened_at) if same_issue else None


# ── Ticket numbers ──────────────────────────────────────────────────────────────────────────
# yymmdd + a five-digit running number for the day + a Luhn check digit: 12 digits, e.g.
# 260714 00042 7. Digits only, so the IVR can read it and a caller can key it in; 12 digits, so
# it is never mistaken for an 11-digit mobile number; the check digit catches any one mistyped
# digit and almost every swap of neighbours.

TICKET_NUMBER_LENGTH = 12
MAX_DAILY_SEQ = 99_999
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_SEPARATORS = re.compile(r"[\s\-－]")


def _luhn_sum(digits: str) -> int:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def ticket_number(now: datetime, seq: int) -> str:
    """The number of the day's ``seq``-th ticket (1 … 99 999), dated by ``now`` as given.

    Pass ``now`` in the business time zone (``policy.calendar.zone``) so the date matches the
    one the day's running number is counted in.
    """
    if not 1 <= seq <= MAX_DAILY_SEQ:
        raise ValueError(f"ticket sequence {seq} is outside 1…{MAX_DAILY_SEQ}")
    body = f"{now:%y%m%d}{seq:05d}"
    return body + str(-_luhn_sum(body + "0") % 10)


def normalize_ticket_number(text: str) -> str:
    """``text`` without spaces or dashes, full-width digits made ASCII (not checked)."""
    return _SEPARATORS.sub("", text.translate(_FULLWIDTH))


def valid_ticket_number(text: str) -> bool:
    """Whether ``text`` (spaces and dashes allowed) is a well-formed ticket number."""
    digits = normalize_ticket_number(text)
    if len(digits) != TICKET_NUMBER_LENGTH or not digits.isascii() or not digits.isdigit():
        return False
    try:
        datetime.strptime(digits[:6], "%y%m%d")
    except ValueError:
        return False
    return digits[6:11] != "00000" and _luhn_sum(digits) % 10 == 0
