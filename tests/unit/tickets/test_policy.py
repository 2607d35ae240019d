from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from tingyin.tickets.policy import (
    DEFAULT_TICKET_POLICY,
    PRIORITIES,
    TicketPolicyError,
    load_ticket_policy,
    parse_hours,
)

CODES = [
    "missing_item",
    "wrong_address",
    "spill",
    "late",
    "quality",
    "wrong_dish",
    "food_safety",
    "refund",
    "rider_conduct",
    "other",
]


def test_the_packaged_policy_loads() -> None:
    policy = load_ticket_policy()
    assert [c.code for c in policy.categories] == CODES
    assert policy.category("food_safety").zh == "食品安全/过敏"
    assert policy.category("food_safety").default_priority == "urgent"
    assert policy.category("refund").default_party == "finance"
    assert "过敏" in policy.priority.keywords["urgent"]
    assert "投诉" in policy.priority.keywords["high"]
    assert (policy.priority.vip_raise, policy.priority.frequent_complainer_raise) == (1, 0)
    assert [(t.up_to_fen, t.approval) for t in policy.compensation.tiers] == [
        (1000, "none"),
        (5000, "supervisor"),
    ]
    assert policy.compensation.customer_limit_fen == 10000
    assert set(policy.compensation.kinds) == {"coupon", "partial_refund", "full_refund", "resend"}
    assert policy.repeat.window_hours == 72
    assert set(policy.parties) == {"merchant_kitchen", "delivery", "platform", "finance"}
    assert all(p.webhook_url == "" and p.webhook_secret_env for p in policy.parties.values())
    assert policy.calendar.intervals(0) == ((time(9), time(22)),)
    assert str(policy.calendar.zone) == "Asia/Shanghai"


def test_every_category_and_priority_has_an_sla() -> None:
    policy = load_ticket_policy()
    for code in CODES:
        for priority in PRIORITIES:
            target = policy.sla_for(code, priority)
            assert 0 < target.first_response_min <= target.resolution_min
    # an override takes the fields it gives and keeps the default's others
    late = policy.sla_for("late", "high")
    assert (late.first_response_min, late.resolution_min) == (15, 120)
    assert late.warn_ratio == policy.sla.default["high"].warn_ratio
    assert policy.sla_for("quality", "low") == policy.sla.default["low"]
    with pytest.raises(ValueError, match="unknown ticket category 'nope'"):
        policy.sla_for("nope", "low")


def test_the_sla_clock_runs_on_the_policy() -> None:
    from datetime import UTC, datetime, timedelta

    from tingyin.tickets.sla import ClockEvent, SlaClock, calendar_from

    policy = load_ticket_policy()
    target = policy.sla_for("late", "high")  # 15 / 30 / 120 business minutes
    calendar = calendar_from(policy.calendar)  # 09:00-22:00 Asia/Shanghai, every day
    opened = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    status = SlaClock.evaluate(
        target,
        calendar,
        opened_at=opened,
        events=[ClockEvent(opened + timedelta(minutes=5), "first_response")],
        now=opened + timedelta(minutes=10),
    )
    assert status.first_response.state == "met"
    assert status.next_update is not None
    assert status.next_update.due_at == opened + timedelta(minutes=5 + 30)
    assert status.resolution.due_at == opened + timedelta(minutes=120)
    assert status.resolution.warn_at == opened + timedelta(minutes=120 * target.warn_ratio)
    late = datetime(2026, 5, 4, 13, 55, tzinfo=UTC)  # 21:55 in Shanghai: 5 minutes to closing
    night = SlaClock.evaluate(target, calendar, opened_at=late, events=(), now=late)
    assert night.first_response.due_at == datetime(2026, 5, 5, 1, 10, tzinfo=UTC)  # 09:10


def _variant(tmp_path: Path, *, replace: tuple[str, str] | None = None, append: str = "") -> Path:
    text = DEFAULT_TICKET_POLICY.read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "tickets.toml"
    path.write_text(text + append, encoding="utf-8")
    return path


_CATEGORY = '\n[[categories]]\ncode = "{code}"\nzh = "x"\nen = "x"\ndefault_party = "platform"\n'


@pytest.mark.parametrize(
    ("replace", "append", "expected"),
    [
        (None, "\n[sla.lates.high]\nresolution_min = 60\n", "sla.lates: unknown category 'lates'"),
        (None, '\n[sla.late.hgh]\nresolution_min = 60\n', "sla.late.hgh (as a key)"),
        (None, "\n[sla.late.low]\nfirst_response_min = 9999\n",
         "sla.late.low: first_response_min (9999) is after resolution_min"),
        (None, "\n[sla.default.low]\nfirst_response_min = 5\n", "not valid TOML"),
        (("[sla.default.low]", "[sla.default.lowish]"), "",
         "sla.default.lowish (as a key)"),
        (None, _CATEGORY.format(code="tip") + 'allows = ["cash"]\n',
         "category 11 (tip), field allows: unknown compensation kind 'cash'"),
        (None, "\n[compensation.kinds.cash]\nzh = 'x'\nen = 'x'\n",
         "compensation.kinds.cash (as a key)"),
        (None, "\n[[compensation.tiers]]\nup_to_yuan = 20\napproval = 'admin'\n",
         "tier 3 (up to 20 元) must be above tier 2 (up to 50 元)"),
        (("up_to_yuan = 10\napproval = \"none\"", "up_to_yuan = 10\napproval = \"admin\""),
         "", "compensation.tiers: tier 2 needs approval 'supervisor', less than tier 1"),
        (("up_to_yuan = 10\n", "up_to_yuan = 10.005\n"), "",
         "compensation.tiers[entry 1].up_to_yuan: 10.005 元 has more than two decimals"),
        (None, _CATEGORY.format(code="late"),
         "category 11 (late), field code: 'late' is used by category 4"),
        (None, _CATEGORY.format(code="Late-ish"), "category 11 (Late-ish), field code"),
        (None, _CATEGORY.format(code="tip") + "colour = 'red'\n",
         "category 11 (tip), field colour: Extra inputs are not permitted"),
        (None, "\ncolour = 'red'\n", "followup.prompts.colour: Extra inputs"),
        (("[repeat]\n", "[repeat]\nwindow_days = 3\n"), "", "repeat.window_days: Extra inputs"),
        (None, _CATEGORY.format(code="tip").replace("platform", "kitchen"),
         "category 11 (tip), field default_party: unknown party 'kitchen'"),
        (("default_priority = \"high\"", "default_priority = \"critical\""), "",
         "category 2 (wrong_address), field default_priority"),
        (("[parties.delivery]", "[parties.riders]"), "", "'delivery' is missing"),
        (('by_delays = ["late"]', 'by_delays = ["slow"]'), "",
         "responsibility.by_delays: unknown category 'slow'"),
        (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"'), "",
         "calendar.timezone: unknown time zone 'Mars/Base'"),
        (('mon = "09:00-22:00"', 'mon = "9-22"'), "", "calendar.hours: mon: '9-22' is not"),
        (('mon = "09:00-22:00"', 'mon = "22:00-09:00"'), "", "ends before it starts"),
        (('mon = "09:00-22:00"\n', ""), "", "calendar.hours: no hours for mon"),
        (('[calendar.special_days]\n', '[calendar.special_days]\n"2027-02-04" = "9 to 5"\n'),
         "", "calendar.special_days: 2027-02-04: '9 to 5' is not"),
        (('webhook_url = ""', 'webhook_url = "https://merchant.example/hook"'), "", None),
        (('webhook_url = ""\nwebhook_secret_env = "TINGYIN_WEBHOOK_SECRET_MERCHANT"',
          'webhook_url = "https://merchant.example/hook"\nwebhook_secret_env = ""'),
         "", "parties.merchant_kitchen: webhook_url is set but webhook_secret_env is empty"),
        (('webhook_url = ""', 'webhook_url = "https://u:pw@merchant.example/hook"'), "",
         "parties.merchant_kitchen: webhook_url must not hold credentials"),
        (('webhook_url = ""', 'webhook_url = "ftp://merchant.example"'), "",
         "is not an http(s) URL"),
        (('high = ["投诉",', 'high = ["过敏", "投诉",'), "",
         "priority: keywords: '过敏' is listed under urgent and high"),
        (("vip_raise = 1 ", "vip_raise = 9 "), "", "priority.vip_raise"),
        (("warn_ratio = 0.8\n", "warn_ratio = 1.5\n"), "", "sla.default.urgent.warn_ratio"),
        (("update_min = 60\nresolution_min = 240\nwarn", "update_min = 600\nresolution_min = "
          "240\nwarn"), "", "sla.default.urgent: update_min (600) is after resolution_min"),
        (None, "\n[sla.refund.low]\nupdate_min = 0\n", "sla.refund.low.update_min"),
        (None, "\n[sla.refund.low]\nupdate_min = false\n", None),
        (("[[categories]]", "categories = 3\n[[categoriez]]"), "", "not valid TOML"),
    ],
)  # fmt: skip
def test_errors_name_their_place(
    tmp_path: Path, replace: tuple[str, str] | None, append: str, expected: str | None
) -> None:
    path = _variant(tmp_path, replace=replace, append=append)
    if expected is None:
        load_ticket_policy(path)
        return
    with pytest.raises(TicketPolicyError) as err:
        load_ticket_policy(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    append = "\n[sla.lates.high]\nresolution_min = 60\n" + _CATEGORY.format(code="late")
    with pytest.raises(TicketPolicyError) as err:
        load_ticket_policy(_variant(tmp_path, append=append))
    lines = str(err.value).splitlines()
    assert any(line.startswith("  sla.lates: unknown category") for line in lines)
    assert any(line.startswith("  category 11 (late), field code") for line in lines)


def test_an_update_clock_can_be_turned_off(tmp_path: Path) -> None:
    policy = load_ticket_policy(
        _variant(tmp_path, append="\n[sla.refund.low]\nupdate_min = false\n")
    )
    assert policy.sla_for("refund", "low").update_min is None
    assert policy.sla_for("refund", "normal").update_min == 780


def test_special_days_and_several_intervals(tmp_path: Path) -> None:
    policy = load_ticket_policy(
        _variant(
            tmp_path,
            replace=("[calendar.special_days]\n", '[calendar.special_days]\n"2027-02-04" = '
                     '"closed"\n"2027-02-06" = "10:00-14:00, 17:00-24:00"\n'),
        )
    )  # fmt: skip
    assert policy.calendar.special_hours() == {
        date(2027, 2, 4): (),
        date(2027, 2, 6): ((time(10), time(14)), (time(17), time(0))),
    }


def test_parse_hours() -> None:
    assert parse_hours("x", "closed") == ()
    assert parse_hours("x", "00:00-24:00") == ((time(0), time(0)),)
    assert parse_hours("x", "17:00-22:00,09:00-14:00") == (
        (time(9), time(14)),
        (time(17), time(22)),
    )
    with pytest.raises(ValueError, match="overlapping"):
        parse_hours("x", "09:00-14:00, 13:00-22:00")
    with pytest.raises(ValueError, match="not a time of day"):
        parse_hours("x", "09:00-24:30")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TicketPolicyError, match="cannot read ticket policy"):
        load_ticket_policy(tmp_path / "nope.toml")
    assert DEFAULT_TICKET_POLICY.is_file()
