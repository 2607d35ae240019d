"""Scoring a call against a scorecard: pure (answers in, score out), no I/O.

Answers by item id: ``yes_no`` items take "yes", "no"; ``scale`` items an integer 0…scale_max;
``level`` items a level code; items with ``na_allowed`` also take "na" (left out of the total).
Every problem is collected and returned at once, like the scorecard file's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tingyin.qa.scorecard import Item, Scorecard

Answer = str | int
NA = "na"


@dataclass(frozen=True)
class ScoreResult:
    total: float  # 0…100; 0 when a critical item failed
    raw_total: float  # 0…100 before the critical rule
    critical_failed: bool
    failed_critical: tuple[str, ...]  # the critical items answered "no"
    resolution_level: str | None
    passed: bool  # total ≥ the scorecard's pass_score, and no critical failure
    points: dict[str, float] = field(default_factory=dict)  # earned per answered item
    errors: tuple[str, ...] = ()  # empty: the answers are complete and valid

    @property
    def ok(self) -> bool:
        return not self.errors


def _share(item: Item, answer: Answer) -> float | str | None:
    """The share of the item's weight earned; None for n/a; a str is what is wrong."""
    if answer == NA:
        return None if item.na_allowed else "n/a is not allowed for this item"
    if item.answer == "yes_no":
        if answer in ("yes", "no"):
            return 1.0 if answer == "yes" else 0.0
        return f"expected 'yes' or 'no', got {answer!r}"
    if item.answer == "scale":
        top = item.scale_max or 1
        if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer <= top:
            return answer / top
        return f"expected a whole number from 0 to {top}, got {answer!r}"
    level = item.level(str(answer)) if isinstance(answer, str) else None
    if level is None:
        codes = ", ".join(lvl.code for lvl in item.levels)
        return f"expected one of {codes}, got {answer!r}"
    return level.share


def score(
    card: Scorecard, answers: Mapping[str, Answer | None], *, partial: bool = False
) -> ScoreResult:
    """The call's score. ``partial``: unanswered items are left out instead of being errors
    (an automatic proposal answers only the items its checks cover)."""
    errors: list[str] = []
    known = {item.id for item in card.items()}
    for item_id in sorted(set(answers) - known):
        errors.append(f"item {item_id}: not on scorecard {card.id} v{card.version}")
    points: dict[str, float] = {}
    earned = possible = 0.0
    failed: list[str] = []
    level: str | None = None
    for item in card.items():
        answer = answers.get(item.id)
        if answer is None:
            if not partial:
                errors.append(f"item {item.id}: no answer")
            continue
        share = _share(item, answer)
        if isinstance(share, str):
            errors.append(f"item {item.id}: {share}")
            continue
        if share is None:
            continue
        points[item.id] = round(item.weight * share, 3)
        earned += item.weight * share
        possible += item.weight
        if item.critical and answer == "no":
            failed.append(item.id)
        if item.resolution:
            level = str(answer)
    raw = round(100 * earned / possible, 2) if possible else 0.0
    critical = bool(failed)
    total = 0.0 if critical else raw
    return ScoreResult(
        total=total,
        raw_total=raw,
        critical_failed=critical,
        failed_critical=tuple(failed),
        resolution_level=level,
        passed=not critical and total >= card.pass_score,
        points=points,
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class Spread:
    """How far several blind scores of one call are apart (calibration)."""

    count: int
    mean: float
    low: float
    high: float
    stdev: float
    resolution_levels: dict[str, int]
    disagreements: dict[str, dict[str, int]]  # item → answer → how many gave it


def spread(
    totals: list[float], answers: list[Mapping[str, Answer | None]], levels: list[str | None]
) -> Spread:
    if not totals:
        return Spread(0, 0.0, 0.0, 0.0, 0.0, {}, {})
    mean = sum(totals) / len(totals)
    var = sum((t - mean) ** 2 for t in totals) / len(totals)
    by_item: dict[str, dict[str, int]] = {}
    for one in answers:
        for item_id, answer in one.items():
            counts = by_item.setdefault(item_id, {})
            counts[str(answer)] = counts.get(str(answer), 0) + 1
    resolution: dict[str, int] = {}
    for lvl in levels:
        if lvl is not None:
            resolution[lvl] = resolution.get(lvl, 0) + 1
    return Spread(
        count=len(totals),
        mean=round(mean, 2),
        low=min(totals),
        high=max(totals),
        stdev=round(var**0.5, 2),
        resolution_levels=resolution,
        disagreements={k: v for k, v in by_item.items() if len(v) > 1},
    )
