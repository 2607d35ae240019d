from __future__ import annotations

import pytest

from tingyin.phones import lookup_key, normalise


@pytest.mark.parametrize(
    ("raw", "key", "kind"),
    [
        ("13812345678", "+8613812345678", "mobile"),
        ("+8613812345678", "+8613812345678", "mobile"),
        ("008613812345678", "+8613812345678", "mobile"),
        ("8613812345678", "+8613812345678", "mobile"),
        ("+86 138 1234 5678", "+8613812345678", "mobile"),
        ("01062345678", "+861062345678", "landline"),
        ("010-6234-5678", "+861062345678", "landline"),
        ("075512345678", "+8675512345678", "landline"),
        ("4008123123", "+864008123123", "service"),
        ("8008101234", "+868008101234", "service"),
        ("95588", "95588", "service"),
        ("12345", "12345", "service"),
        ("+14155550123", "+14155550123", "mobile"),
    ],
)
def test_spellings_of_one_number_share_a_key(raw: str, key: str, kind: str) -> None:
    number = normalise(raw)
    assert (number.key, number.kind) == (key, kind)
    assert number.usable


@pytest.mark.parametrize("raw", ["", "anonymous", "Anonymous", "unknown", "Restricted", " "])
def test_withheld_numbers_have_no_key(raw: str) -> None:
    number = normalise(raw)
    assert (number.key, number.kind, number.usable) == ("", "withheld", False)


@pytest.mark.parametrize("raw", ["1381234", "0013812345678", "62345678", "sip", "abc123"])
def test_bad_numbers_are_invalid_not_errors(raw: str) -> None:
    number = normalise(raw)
    assert number.key == ""
    assert number.kind in ("invalid", "withheld")


def test_masked_never_shows_the_middle() -> None:
    assert normalise("+8613812345678").masked == "138****5678"
    assert normalise("010-6234-5678").masked == "010****5678"
    assert normalise("95588").masked == "***88"
    assert "1234" not in normalise("13812345678").masked[:-4]
    assert lookup_key("138 1234 5678") == "+8613812345678"
