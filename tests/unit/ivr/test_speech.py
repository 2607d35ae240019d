from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tingyin.ivr.speech import (
    fill,
    read_amount_fen,
    read_digits,
    read_integer,
    read_minutes,
    read_time,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "零"),
        (1, "一"),
        (2, "二"),
        (10, "十"),
        (11, "十一"),
        (12, "十二"),
        (20, "二十"),
        (22, "二十二"),
        (100, "一百"),
        (101, "一百零一"),
        (105, "一百零五"),
        (110, "一百一十"),
        (111, "一百一十一"),
        (200, "两百"),
        (220, "两百二十"),
        (1000, "一千"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1100, "一千一百"),
        (2000, "两千"),
        (2002, "两千零二"),
        (2222, "两千二百二十二"),
        (10000, "一万"),
        (10001, "一万零一"),
        (10010, "一万零一十"),
        (10100, "一万零一百"),
        (11000, "一万一千"),
        (12000, "一万二千"),
        (20000, "两万"),
        (22000, "两万二千"),
        (100000, "十万"),
        (100010, "十万零一十"),
        (220000, "二十二万"),
        (2000000, "两百万"),
        (20000000, "两千万"),
        (100000000, "一亿"),
        (100000001, "一亿零一"),
        (100001000, "一亿零一千"),
        (101000000, "一亿零一百万"),
        (110000000, "一亿一千万"),
        (200000000, "两亿"),
        (220000000, "两亿二千万"),
        (1000000000, "十亿"),
        (123456789, "一亿二千三百四十五万六千七百八十九"),
        (1000000000000, "一万亿"),
        (-1, "负一"),
        (-2000, "负两千"),
        (-10, "负十"),
    ],
)
def test_read_integer(n: int, spoken: str) -> None:
    assert read_integer(n) == spoken


@pytest.mark.parametrize(
    ("digits", "spoken"),
    [
        ("0", "零"),
        ("1380", "幺三八零"),
        ("0123456789", "零幺，二三四五，六七八九"),
        ("12345678", "幺二三四五六七八"),
        ("123456789", "幺，二三四五，六七八九"),
        ("13800138000", "幺三八，零零幺三，八零零零"),
        ("123456789012", "幺二三四，五六七八，九零幺二"),
    ],
)
def test_read_digits(digits: str, spoken: str) -> None:
    assert read_digits(digits) == spoken


@pytest.mark.parametrize("bad", ["", "138-0013", " 1380", "12a4", "１２", "²", "+86138"])
def test_read_digits_rejects_non_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        read_digits(bad)


@pytest.mark.parametrize(
    ("hour", "minute", "spoken"),
    [
        (0, 0, "零点整"),
        (0, 10, "零点十分"),
        (2, 2, "两点零二分"),
        (9, 5, "九点零五分"),
        (10, 15, "十点十五分"),
        (12, 0, "十二点整"),
        (12, 30, "十二点三十分"),
        (20, 1, "二十点零一分"),
        (23, 59, "二十三点五十九分"),
    ],
)
def test_read_time_of_day(hour: int, minute: int, spoken: str) -> None:
    assert read_time(dt.time(hour, minute, 45)) == spoken
    assert read_time(dt.datetime(2024, 11, 24, hour, minute)) == spoken


NOW = dt.datetime(2024, 11, 24, 9, 0)


@pytest.mark.parametrize(
    ("when", "spoken"),
    [
        (dt.datetime(2024, 11, 24, 12, 30), "十二点三十分"),
        (dt.datetime(2024, 11, 25, 0, 0), "明天零点整"),
        (dt.datetime(2024, 11, 23, 23, 59), "昨天二十三点五十九分"),
        (dt.datetime(2024, 11, 26, 12, 0), "十一月二十六日十二点整"),
        (dt.datetime(2024, 10, 2, 12, 30), "十月二日十二点三十分"),
        (dt.datetime(2025, 1, 1, 8, 0), "一月一日八点整"),
    ],
)
def test_read_time_relative_to_now(when: dt.datetime, spoken: str) -> None:
    assert read_time(when, now=NOW) == spoken


def test_read_time_across_new_year_says_tomorrow() -> None:
    now = dt.datetime(2024, 12, 31, 22, 0)
    assert read_time(dt.datetime(2025, 1, 1, 0, 30), now=now) == "明天零点三十分"


def test_read_time_with_aware_datetimes_uses_nows_zone() -> None:
    now = dt.datetime(2024, 11, 24, 9, 0, tzinfo=SHANGHAI)
    local = dt.datetime(2024, 11, 25, 12, 30, tzinfo=SHANGHAI)
    assert read_time(local, now=now) == "明天十二点三十分"
    utc = dt.datetime(2024, 11, 24, 16, 30, tzinfo=dt.UTC)
    assert read_time(utc, now=now) == "明天零点三十分"


def test_read_time_without_now_ignores_date() -> None:
    assert read_time(dt.datetime(2020, 1, 1, 12, 0, tzinfo=SHANGHAI)) == "十二点整"


def test_read_time_of_a_time_ignores_now() -> None:
    assert read_time(dt.time(12, 0), now=NOW) == "十二点整"


@pytest.mark.parametrize(
    ("when", "now"),
    [
        (dt.datetime(2024, 11, 25, 12, 0, tzinfo=SHANGHAI), NOW),
        (dt.datetime(2024, 11, 25, 12, 0), NOW.replace(tzinfo=SHANGHAI)),
    ],
)
def test_read_time_refuses_mixed_naive_and_aware(when: dt.datetime, now: dt.datetime) -> None:
    with pytest.raises(ValueError, match="naive"):
        read_time(when, now=now)


@pytest.mark.parametrize(
    ("minutes", "spoken"),
    [
        (0, "零分钟"),
        (1, "一分钟"),
        (2, "两分钟"),
        (5, "五分钟"),
        (10, "十分钟"),
        (22, "二十二分钟"),
        (60, "一小时"),
        (62, "一小时两分钟"),
        (75, "一小时十五分钟"),
        (120, "两小时"),
        (130, "两小时十分钟"),
        (1440, "二十四小时"),
        (12000, "两百小时"),
    ],
)
def test_read_minutes(minutes: int, spoken: str) -> None:
    assert read_minutes(minutes) == spoken


def test_read_minutes_refuses_negative() -> None:
    with pytest.raises(ValueError):
        read_minutes(-1)


@pytest.mark.parametrize(
    ("fen", "spoken"),
    [
        (0, "零元"),
        (1, "一分"),
        (2, "两分"),
        (10, "一角"),
        (20, "两角"),
        (50, "五角"),
        (55, "五角五分"),
        (100, "一元"),
        (101, "一元零一分"),
        (110, "一元一角"),
        (200, "两元"),
        (202, "两元零二分"),
        (250, "两元五角"),
        (500, "五元"),
        (1205, "十二元零五分"),
        (1250, "十二元五角"),
        (1255, "十二元五角五分"),
        (2000, "二十元"),
        (20000, "两百元"),
        (100000, "一千元"),
        (1000001, "一万元零一分"),
        (-250, "负两元五角"),
    ],
)
def test_read_amount_fen(fen: int, spoken: str) -> None:
    assert read_amount_fen(fen) == spoken


@pytest.mark.parametrize(
    ("template", "values", "filled"),
    [
        ("您好", {}, "您好"),
        ("您的订单{order}已发货", {"order": "幺二三"}, "您的订单幺二三已发货"),
        ("{a}{b}{a}", {"a": "一", "b": "二"}, "一二一"),
        ("{{literal}}{x}", {"x": "好"}, "{literal}好"),
        ("{x}", {"x": "{y}"}, "{y}"),
        ("{x}", {"x": "{"}, "{"),
        ("{x:>3}", {"x": "一"}, "  一"),
        ("您好", {"unused": "x"}, "您好"),
    ],
)
def test_fill(template: str, values: dict[str, str], filled: str) -> None:
    assert fill(template, **values) == filled


def test_fill_missing_key_names_key_and_template() -> None:
    with pytest.raises(KeyError) as info:
        fill("订单{order}将于{when}送达", order="幺二三")
    message = str(info.value)
    assert "when" in message
    assert "订单{order}将于{when}送达" in message


@pytest.mark.parametrize("template", ["{}", "{0}", "{x.upper}", "{x[0]}"])
def test_fill_refuses_fields_that_are_not_plain_names(template: str) -> None:
    with pytest.raises(ValueError):
        fill(template, x="a")
