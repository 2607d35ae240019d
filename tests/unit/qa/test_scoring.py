"""Scoring: weights, n/a, the critical rule, the resolution level, every mistake at once."""

from __future__ import annotations

from typing import Any

import pytest

from tingyin.qa.scorecard import Scorecard, load_scorecard
from tingyin.qa.scoring import Answer, score, spread


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return load_scorecard()


def all_good(card: Scorecard) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    for item in card.items():
        if item.answer == "yes_no":
            answers[item.id] = "yes"
        elif item.answer == "scale":
            answers[item.id] = item.scale_max or 0
        else:
            answers[item.id] = item.levels[-1].code
    return answers


def test_full_marks_and_the_resolution_level(card: Scorecard) -> None:
    result = score(card, all_good(card))
    assert result.ok and result.total == 100 and result.passed
    assert result.resolution_level == "delighted"
    # 已解决 earns 0.6 of the 20 points; the tone scale 3 of 5 earns 3 of 5 points.
    result = score(card, all_good(card) | {"resolution": "resolved", "tone": 3})
    assert result.total == pytest.approx(100 - 8 - 2)
    assert result.points["resolution"] == 12 and result.points["tone"] == 3


def test_not_applicable_items_leave_the_total(card: Scorecard) -> None:
    answers = all_good(card) | {"remedy": "na", "order_confirmed": "no"}
    result = score(card, answers)
    assert result.total == pytest.approx(100 * (90 - 8) / 90, abs=0.01)
    assert "remedy" not in result.points


def test_a_critical_item_fails_the_whole_call(card: Scorecard) -> None:
    result = score(card, all_good(card) | {"no_forbidden": "no"})
    assert result.critical_failed and result.failed_critical == ("no_forbidden",)
    assert result.total == 0 and result.raw_total == 92 and not result.passed


def test_every_mistake_is_reported(card: Scorecard) -> None:
    answers: dict[str, Any] = all_good(card) | {
        "greeting": "maybe", "tone": 9, "resolution": "na", "privacy": "na", "bogus": "yes",
    }  # fmt: skip
    del answers["closing"]
    errors = score(card, answers).errors
    assert errors == (
        "item bogus: not on scorecard delivery-cs v1",
        "item greeting: expected 'yes' or 'no', got 'maybe'",
        "item tone: expected a whole number from 0 to 5, got 9",
        "item privacy: n/a is not allowed for this item",
        "item closing: no answer",
        "item resolution: n/a is not allowed for this item",
    )
    assert score(card, {"greeting": "yes"}, partial=True).ok


def test_the_spread_of_blind_scores() -> None:
    found = spread(
        [80.0, 90.0, 100.0],
        [{"greeting": "yes"}, {"greeting": "no"}, {"greeting": "yes", "empathy": "yes"}],
        ["resolved", "satisfied", "resolved"],
    )
    assert (found.count, found.mean, found.low, found.high) == (3, 90.0, 80.0, 100.0)
    assert found.stdev == pytest.approx(8.16, abs=0.01)
    assert found.disagreements == {"greeting": {"yes": 2, "no": 1}}
    assert found.resolution_levels == {"resolved": 2, "satisfied": 1}
