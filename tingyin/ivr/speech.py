"""Numbers, times and amounts written out in Mandarin for IVR prompts.

Pure functions: they return hanzi text that the synthesiser (espeak-ng ``cmn``) reads as a person
would, so prompts never hand it Arabic digits to guess at.

Conventions:

* Cardinals use 二, except that the *leading* digit of a whole number is 两 when it stands before
  百/千/万/亿 (两百, 两千, 两万, 两亿, but 二十, 二, 一万二千). A leading 一十 is said 十.
* Counts before a measure word (两小时, 两分钟, 两元, 两角, 两分) and the hour 两点 use 两.
* Digit strings (phone, order, ticket numbers) read 1 as 幺.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping

_DIGITS = "零一二三四五六七八九"
_DIAL_DIGITS = "零幺二三四五六七八九"
_SECTION_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
_BIG_UNITS = ((100_000_000, "亿"), (10_000, "万"))
_DIGIT_GROUP = 4
_GROUP_OVER = 8


def read_integer(n: int) -> str:
    """Read ``n`` as a Mandarin cardinal: 105 → 一百零五, 2000 → 两千, -3 → 负三."""
    if n < 0:
        return "负" + read_integer(-n)
    if n == 0:
        return _DIGITS[0]
    return _read_positive(n, leading=True)


def _read_positive(n: int, *, leading: bool) -> str:
    """Read ``n > 0``; ``leading`` marks the start of the whole number (两, bare 十)."""
    for unit_value, unit in _BIG_UNITS:
        if n >= unit_value:
            high, rest = divmod(n, unit_value)
            text = "两" if leading and high == 2 else _read_positive(high, leading=leading)
            text += unit
            if rest:
                if rest < unit_value // 10:
                    text += "零"
                text += _read_positive(rest, leading=False)
            return text
    return _read_section(n, leading=leading)


def _read_section(n: int, *, leading: bool) -> str:
    """Read ``0 < n < 10000``, collapsing inner zeros to one 零 and dropping trailing ones."""
    parts: list[str] = []
    zero_pending = False
    for value, unit in _SECTION_UNITS:
        digit = n // value % 10
        if digit == 0:
            zero_pending = bool(parts)
            continue
        if zero_pending:
            parts.append("零")
            zero_pending = False
        first = leading and not parts
        if first and digit == 2 and value >= 100:
            spoken = "两"
        elif first and digit == 1 and value == 10:
            spoken = ""
        else:
            spoken = _DIGITS[digit]
        parts.append(spoken + unit)
    return "".join(parts)


def read_count(n: int) -> str:
    """Read a quantity before a measure word: exactly 2 is 两 (两小时, 两元)."""
    return "两" if n == 2 else read_integer(n)


def read_digits(s: str) -> str:
    """Read a digit string one digit at a time, 1 as 幺: "1380" → "幺三八零".

    Strings longer than 8 digits get a "，" every 4 digits counted from the right, so an
    11-digit mobile number pauses as 3-4-4. Anything but ASCII digits (or an empty string)
    raises ValueError.
    """
    if not s or any(ch not in "0123456789" for ch in s):
        raise ValueError(f"expected ASCII digits only, got {s!r}")
    spoken = "".join(_DIAL_DIGITS[int(ch)] for ch in s)
    if len(spoken) <= _GROUP_OVER:
        return spoken
    head = len(spoken) % _DIGIT_GROUP or _DIGIT_GROUP
    groups = [spoken[:head]]
    groups += [spoken[i : i + _DIGIT_GROUP] for i in range(head, len(spoken), _DIGIT_GROUP)]
    return "，".join(groups)


def read_time(t: dt.time | dt.datetime, *, now: dt.datetime | None = None) -> str:
    """Read a 24-hour clock time: 09:05 → 九点零五分, 12:00 → 十二点整; seconds are ignored.

    Given a datetime and ``now``, a different date is prefixed 明天/昨天 or 十一月二十四日.
    Both must be naive or both aware (else ValueError); an aware ``t`` is first converted to
    ``now``'s timezone, the listener's local time.
    """
    prefix = ""
    if isinstance(t, dt.datetime) and now is not None:
        if _is_aware(t) != _is_aware(now):
            raise ValueError("t and now must both be naive or both be timezone-aware")
        if _is_aware(t):
            t = t.astimezone(now.tzinfo)
        prefix = _read_day(t.date(), now.date())
    hour = "两" if t.hour == 2 else read_integer(t.hour)
    if t.minute == 0:
        minute = "整"
    elif t.minute < 10:
        minute = "零" + _DIGITS[t.minute] + "分"
    else:
        minute = read_integer(t.minute) + "分"
    return f"{prefix}{hour}点{minute}"


def _is_aware(d: dt.datetime) -> bool:
    return d.tzinfo is not None and d.utcoffset() is not None


def _read_day(day: dt.date, today: dt.date) -> str:
    """The spoken date of ``day`` relative to ``today``: "", 明天, 昨天 or 十一月二十四日."""
    delta = (day - today).days
    if delta == 0:
        return ""
    if delta == 1:
        return "明天"
    if delta == -1:
        return "昨天"
    return f"{read_integer(day.month)}月{read_integer(day.day)}日"


def read_minutes(minutes: int) -> str:
    """Read a duration: 5 → 五分钟, 60 → 一小时, 130 → 两小时十分钟; negative is ValueError."""
    if minutes < 0:
        raise ValueError(f"a duration cannot be negative: {minutes}")
    hours, rest = divmod(minutes, 60)
    text = f"{read_count(hours)}小时" if hours else ""
    if rest or not hours:
        text += f"{read_count(rest)}分钟"
    return text


def read_amount_fen(fen: int) -> str:
    """Read money given in fen: 1250 → 十二元五角, 1205 → 十二元零五分, 0 → 零元, -5 → 负五分."""
    if fen < 0:
        return "负" + read_amount_fen(-fen)
    if fen == 0:
        return "零元"
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    parts: list[str] = []
    if yuan:
        parts.append(f"{read_count(yuan)}元")
    if jiao:
        parts.append(f"{read_count(jiao)}角")
    if fen_digit:
        if yuan and not jiao:
            parts.append(f"零{_DIGITS[fen_digit]}分")
        else:
            parts.append(f"{read_count(fen_digit)}分")
    return "".join(parts)


class _Values(dict[str, str]):
    """Template values whose missing keys raise a KeyError naming the key and the template."""

    def __init__(self, template: str, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.template = template

    def __missing__(self, key: str) -> str:
        raise KeyError(f"no value for {{{key}}} in template {self.template!r}")


def fill(template: str, **values: str) -> str:
    """Fill ``{name}`` fields of a prompt template, like ``str.format`` with keywords only.

    A missing name raises KeyError naming it and the template; fields must be plain names (no
    positional, index or attribute fields: ValueError). Values are inserted verbatim, so braces
    inside them are never read as fields.
    """
    for _literal, field, _spec, _conversion in string.Formatter().parse(template):
        if field is not None and not field.isidentifier():
            raise ValueError(f"template field {{{field}}} is not a plain name in {template!r}")
    return template.format_map(_Values(template, values))
