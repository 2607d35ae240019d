from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tingyin.bus.context import TimelineStep
from tingyin.screenpop.sources import OrderRecord
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.rules import (
    STATUS_LABELS,
    TICKET_STATUSES,
    Approval,
    InvalidTransition,
    TicketRef,
    approval_needed,
    check_transition,
    is_repeat,
    priority_for,
    responsibility_for,
    ticket_number,
    valid_ticket_number,
)

POLICY = load_ticket_policy()
T0 = datetime(2026, 7, 14, 11, 30, tzinfo=UTC)


def _policy(**changes: Any) -> TicketPolicy:
    """The packaged policy with some sections' fields changed (re-validated)."""
    data = POLICY.model_dump()
    for section, fields in changes.items():
        data[section] = {**data[section], **fields}
    return TicketPolicy.model_validate(data)


# ── priority ──────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("category", "text", "vip", "expected"),
    [
        ("missing_item", "少了一份米饭", False, ("normal", [])),
        ("other", "发票怎么开", False, ("low", [])),
        ("quality", "吃了以后过敏了，起了疹子", False, ("urgent", ["keyword:过敏"])),
        # the ASR puts spaces between words
        ("quality", "我 吃 完 拉 肚子 了", False, ("urgent", ["keyword:拉肚子"])),
        ("quality", "菜里有异物，我要投诉", False, ("urgent", ["keyword:异物"])),
        ("late", "再不送到我就投诉，给差评", False, ("high", ["keyword:投诉", "keyword:差评"])),
        ("missing_item", "少了一份米饭", True, ("high", ["vip"])),
        ("late", "我要投诉", True, ("urgent", ["keyword:投诉", "vip"])),
        ("quality", "过敏", True, ("urgent", ["keyword:过敏"])),  # already at the top
        ("food_safety", "孩子吃了呕吐", False, ("urgent", ["keyword:呕吐"])),
        ("food_safety", "我要投诉", False, ("urgent", [])),  # below the category's default
        ("wrong_address", "送到隔壁楼了", False, ("high", [])),
    ],
)
def test_priority(category: str, text: str, vip: bool, expected: tuple[str, list[str]]) -> None:
    assert priority_for(POLICY, category, text, vip=vip) == expected


def test_frequent_complainers_are_not_raised_unless_the_policy_says_so() -> None:
    assert priority_for(POLICY, "late", "", vip=False, frequent_complainer=True) == ("normal", [])
    policy = _policy(priority={"frequent_complainer_raise": 1, "vip_raise": 2})
    assert priority_for(policy, "late", "", vip=False, frequent_complainer=True) == (
        "high",
        ["frequent_complainer"],
    )
    assert priority_for(policy, "other", "", vip=True) == ("high", ["vip"])


def test_keywords_ignore_case_and_spaces() -> None:
    policy = _policy(priority={"keywords": {"urgent": ("Food Poisoning",), "high": ()}})
    assert priority_for(policy, "quality", "I think it's FOOD poisoning", vip=False) == (
        "urgent",
        ["keyword:Food Poisoning"],
    )


def test_priority_of_an_unknown_category() -> None:
    with pytest.raises(ValueError, match="unknown ticket category 'lost'"):
        priority_for(POLICY, "lost", "", vip=False)


# ── responsibility ────────────────────────────────────────────────────────────────────────────


def _order(
    steps: list[tuple[str, float, str]], *, status: str = "delivered", promised_after: float = 40
) -> OrderRecord:
    """An order placed at T0 with (kind, minutes after T0, actor) steps."""
    timeline = tuple(
        TimelineStep(at=T0 + timedelta(minutes=m), kind=kind, actor=actor)
        for kind, m, actor in steps
    )
    delivered = next((s.at for s in timeline if s.kind == "delivered"), None)
    return OrderRecord(
        order_no="MT2026071400001",
        channel="meituan",
        status=status,
        customer_id="c1",
        customer_name="张先生",
        customer_phone="+8613800138000",
        merchant="老王面馆",
        store="五道口店",
        store_id="s1",
        rider="李师傅",
        rider_id="r1",
        amount_fen=4500,
        address="清华东路 1 号",
        remarks="",
        placed_at=T0,
        promised_at=T0 + timedelta(minutes=promised_after),
        delivered_at=delivered,
        timeline=timeline,
    )


def _steps(accept: float, ready: float, picked: float, delivered: float | None = None) -> Any:
    steps = [
        ("placed", 0, "customer"),
        ("accepted", accept, "merchant"),
        ("ready", ready, "merchant"),
        ("picked_up", picked, "rider"),
    ]
    if delivered is not None:
        steps.append(("delivered", delivered, "rider"))
    return steps


@pytest.mark.parametrize(
    ("category", "party"),
    [
        ("missing_item", "merchant_kitchen"),
        ("wrong_dish", "merchant_kitchen"),
        ("quality", "merchant_kitchen"),
        ("food_safety", "merchant_kitchen"),
        ("spill", "delivery"),
        ("rider_conduct", "delivery"),
        ("wrong_address", "delivery"),
        ("refund", "finance"),
        ("other", "platform"),
        ("late", "delivery"),
    ],
)
def test_categories_take_their_default_party(category: str, party: str) -> None:
    order = _order(_steps(2, 40, 42, 80))  # a slow kitchen does not matter for these
    expected_party = "merchant_kitchen" if category == "late" else party
    assert responsibility_for(POLICY, category, order)[0] == expected_party
    who, why = responsibility_for(POLICY, category, None)
    assert who == party
    assert why == f"按类别「{POLICY.category(category).zh}」默认"


def test_late_with_a_slow_kitchen_is_the_merchants() -> None:
    order = _order(_steps(2, 40, 45, 70))  # accepted → ready 38 min (expected 25)
    assert responsibility_for(POLICY, "late", order) == (
        "merchant_kitchen",
        "商家出餐慢：接单后 38 分钟才出餐（应在 25 分钟内）",
    )


def test_late_with_a_slow_pickup_is_deliverys() -> None:
    order = _order(_steps(2, 20, 50, 70))  # ready → picked up 30 min (expected 15)
    who, why = responsibility_for(POLICY, "late", order)
    assert who == "delivery"
    assert why.startswith("出餐后骑手取餐慢") and "30 分钟" in why


def test_the_step_that_overran_most_is_to_blame() -> None:
    # kitchen 30 min (5 over), pickup 35 min (20 over)
    order = _order(_steps(2, 32, 67, 90))
    assert responsibility_for(POLICY, "late", order)[0] == "delivery"
    # kitchen 50 min (25 over), pickup 20 min (5 over)
    order = _order(_steps(2, 52, 72, 90))
    assert responsibility_for(POLICY, "late", order)[0] == "merchant_kitchen"
    # slow to accept: 18 min (8 over)
    order = _order(_steps(18, 30, 35, 60))
    who, why = responsibility_for(POLICY, "late", order)
    assert (who, why[:6]) == ("merchant_kitchen", "商家接单慢：")


def test_late_on_the_road() -> None:
    order = _order(_steps(2, 20, 25, 75))
    assert responsibility_for(POLICY, "late", order) == (
        "delivery",
        "商家按时出餐、骑手按时取餐，延误发生在配送途中",
    )


def test_a_step_under_way_is_measured_to_now() -> None:
    order = _order([("placed", 0, "customer"), ("accepted", 2, "merchant")], status="accepted")
    now = T0 + timedelta(minutes=42)
    who, why = responsibility_for(POLICY, "late", order, now=now)
    assert who == "merchant_kitchen" and "接单 40 分钟仍未出餐" in why
    # without a clock, or once the order is over, an open step is not measured
    assert responsibility_for(POLICY, "late", order)[1].startswith("按类别")
    done = _order([("placed", 0, "customer"), ("accepted", 2, "merchant")], status="refunded")
    assert responsibility_for(POLICY, "late", done, now=now)[1].startswith("按类别")


def test_a_missing_step_is_not_measured_through() -> None:
    # no "ready" step: accepted → picked up is not the kitchen's time
    order = _order(
        [("placed", 0, "c"), ("accepted", 2, "m"), ("picked_up", 50, "r"), ("delivered", 70, "r")]
    )
    assert responsibility_for(POLICY, "late", order)[0] == "delivery"


@pytest.mark.parametrize(
    ("category", "actor", "party"),
    [
        ("late", "rider", "delivery"),
        ("other", "rider", "delivery"),
        ("late", "merchant", "merchant_kitchen"),
        ("other", "customer", "platform"),
        ("refund", "rider", "finance"),  # the refund is still finance's to make
    ],
)
def test_a_cancelled_order_is_whoever_cancelled_it(category: str, actor: str, party: str) -> None:
    order = _order(
        [("placed", 0, "customer"), ("accepted", 2, "merchant"), ("cancelled", 30, actor)],
        status="cancelled",
    )
    assert responsibility_for(POLICY, category, order)[0] == party


def test_responsibility_in_english() -> None:
    order = _order(_steps(2, 40, 45, 70))
    assert responsibility_for(POLICY, "late", order, language="en") == (
        "merchant_kitchen",
        "Kitchen slow: ready 38 min after it was accepted (expected within 25)",
    )
    assert responsibility_for(POLICY, "spill", None, language="en")[1] == (
        "default for the category Spilled"
    )


# ── approval ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("amount", "level"),
    [(0, "none"), (500, "none"), (1000, "none"), (1001, "supervisor"), (5000, "supervisor"),
     (5001, "admin"), (10001, "admin")],
)  # fmt: skip
def test_approval_tiers(amount: int, level: str) -> None:
    approval = approval_needed(POLICY, "coupon", amount, 0)
    assert (approval.level, approval.abuse_flag) == (level, False)


def test_approval_reasons() -> None:
    assert approval_needed(POLICY, "coupon", 800, 0) == Approval(
        level="none", reason="8 元（10 元以内）：坐席可直接发放", abuse_flag=False
    )
    assert approval_needed(POLICY, "partial_refund", 1250, 0).reason == (
        "12.50 元（50 元以内）：需主管审批"
    )
    assert approval_needed(POLICY, "full_refund", 6800, 0).reason == "68 元超过 50 元：需管理员审批"
    assert approval_needed(POLICY, "coupon", 800, 0, language="en").reason == (
        "8 yuan (up to 10): the agent may apply it at once"
    )


def test_the_customers_30_day_total() -> None:
    # 95 + 5 = 100: at the limit, not over it
    assert approval_needed(POLICY, "coupon", 500, 9500) == Approval(
        level="none", reason="5 元（10 元以内）：坐席可直接发放", abuse_flag=False
    )
    over = approval_needed(POLICY, "coupon", 800, 9500)
    assert (over.level, over.abuse_flag) == ("supervisor", True)
    assert "30 天内补偿累计将达 103 元，超过 100 元：需主管审批，疑似滥用" in over.reason
    # an admin tier stays admin
    big = approval_needed(POLICY, "full_refund", 6000, 9500)
    assert (big.level, big.abuse_flag) == ("admin", True)
    # already over the limit: even a small amount
    assert approval_needed(POLICY, "coupon", 100, 12000).abuse_flag
    # one large amount is not accumulation: its tier asks an admin, no abuse flag
    first = approval_needed(POLICY, "full_refund", 20000, 0)
    assert (first.level, first.abuse_flag) == ("admin", False)
    assert approval_needed(POLICY, "full_refund", 20000, 1).abuse_flag
    strict = _policy(compensation={"over_limit_approval": "admin"})
    assert approval_needed(strict, "coupon", 800, 9500).level == "admin"


def test_a_kind_can_need_approval_whatever_the_amount() -> None:
    kinds = POLICY.compensation.model_dump()["kinds"]
    kinds["full_refund"]["min_approval"] = "supervisor"
    policy = _policy(compensation={"kinds": kinds})
    approval = approval_needed(policy, "full_refund", 300, 0)
    assert approval.level == "supervisor"
    assert approval.reason.endswith("全额退款：需主管审批")
    assert approval_needed(policy, "coupon", 300, 0).level == "none"


def test_approval_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="unknown compensation kind 'cash'"):
        approval_needed(POLICY, "cash", 100, 0)
    data = POLICY.model_dump()
    del data["compensation"]["kinds"]["resend"]
    for category in data["categories"]:
        category["allows"] = [k for k in category["allows"] if k != "resend"]
    not_offered = TicketPolicy.model_validate(data)
    with pytest.raises(ValueError, match="unknown compensation kind 'resend'"):
        approval_needed(not_offered, "resend", 100, 0)
    with pytest.raises(ValueError, match="negative"):
        approval_needed(POLICY, "coupon", -1, 0)


# ── transitions ──────────────────────────────────────────────────────────────────────────────

ALLOWED = {
    ("accepted", "in_progress"),
    ("accepted", "resolved"),
    ("in_progress", "resolved"),
    ("resolved", "closed"),
    ("resolved", "reopened"),
    ("closed", "reopened"),
    ("reopened", "in_progress"),
    ("reopened", "resolved"),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(TICKET_STATUSES, repeat=2)))
def test_every_transition(current: str, target: str) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"cannot go from {current}"):
            check_transition(current, target)


def test_transition_messages() -> None:
    with pytest.raises(InvalidTransition) as err:
        check_transition("closed", "in_progress")
    assert str(err.value) == (
        "a ticket cannot go from closed (已关闭) to in_progress (处理中); "
        "from closed it can go to: reopened"
    )
    with pytest.raises(InvalidTransition, match="unknown ticket status 'done'"):
        check_transition("resolved", "done")
    assert STATUS_LABELS["zh"]["reopened"] == "已重开"
    assert set(STATUS_LABELS["en"]) == set(TICKET_STATUSES)


# ── repeats ──────────────────────────────────────────────────────────────────────────────────


def _ref(number: str, hours_ago: float, **fields: str) -> TicketRef:
    values = {"order_no": "O1", "customer_id": "c1", "category": "late", "status": "accepted"}
    values.update(fields)
    return TicketRef(number=number, opened_at=T0 - timedelta(hours=hours_ago), **values)


def _repeat(
    tickets: list[TicketRef],
    order: str | None = "O1",
    customer: str | None = "c1",
    category: str = "late",
) -> str | None:
    found = is_repeat(
        POLICY,
        new_order_no=order,
        new_customer_id=customer,
        new_category=category,
        open_tickets=tickets,
        now=T0,
    )
    return found.number if found else None


def test_repeat_window() -> None:
    assert _repeat([_ref("A", 71)]) == "A"
    assert _repeat([_ref("A", 72)]) == "A"
    assert _repeat([_ref("A", 73)]) is None
    assert _repeat([]) is None


def test_repeat_same_order_whatever_the_category() -> None:
    tickets = [_ref("A", 5, category="spill", customer_id="c9")]
    assert _repeat(tickets, customer="c1", category="late") == "A"


def test_repeat_same_customer_and_category() -> None:
    tickets = [_ref("A", 5, order_no="O7")]
    assert _repeat(tickets, order="O1") == "A"
    assert _repeat(tickets, order="O1", category="spill") is None
    assert _repeat(tickets, order="O1", customer="c2") is None


def test_repeat_prefers_the_order_and_the_newest() -> None:
    tickets = [
        _ref("by-customer", 1, order_no="O7"),
        _ref("old", 30),
        _ref("new", 10),
    ]
    assert _repeat(tickets) == "new"


def test_repeat_ignores_closed_tickets_and_empty_keys() -> None:
    assert _repeat([_ref("A", 1, status="closed")]) is None
    assert _repeat([_ref("A", 1, status="resolved")]) == "A"
    assert _repeat([_ref("A", 1, status="reopened")]) == "A"
    blank = [_ref("A", 1, order_no="", customer_id="")]
    assert _repeat(blank, order="", customer="") is None
    assert _repeat(blank, order=None, customer=None) is None


# ── ticket numbers ───────────────────────────────────────────────────────────────────────────


def test_ticket_numbers() -> None:
    number = ticket_number(T0, 42)
    assert number == "260714000429"
    assert valid_ticket_number(number)
    assert valid_ticket_number("260714 00042 9")
    assert valid_ticket_number("260714-00042-9")
    assert valid_ticket_number("２６０７１４０００４２９")
    assert ticket_number(T0, 99_999).startswith("26071499999")
    for seq in (0, 100_000):
        with pytest.raises(ValueError, match="outside"):
            ticket_number(T0, seq)


def test_every_single_typo_is_caught() -> None:
    number = ticket_number(T0, 3_517)
    for i, digit in itertools.product(range(len(number)), "0123456789"):
        if number[i] != digit:
            assert not valid_ticket_number(number[:i] + digit + number[i + 1 :])


def test_swapped_neighbours_are_caught() -> None:
    for seq in (1, 42, 3_517, 80_706):
        number = ticket_number(T0, seq)
        for i in range(len(number) - 1):
            a, b = number[i], number[i + 1]
            if a != b and {a, b} != {"0", "9"}:  # Luhn's one blind spot
                assert not valid_ticket_number(number[:i] + b + a + number[i + 2 :])


@pytest.mark.parametrize(
    "text",
    ["", "26071400042", "2607140004290", "26071400042x", "261314000421", "260230000424",
     "260714000007",
     "GD-260714000429", "13800138000"],
)  # fmt: skip
def test_not_ticket_numbers(text: str) -> None:
    assert not valid_ticket_number(text)
