"""From what the automatic checks found to a pre-filled scorecard: pure, like scoring."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tingyin.qa.checks import Sampling
from tingyin.qa.findings import Finding
from tingyin.qa.scorecard import Scorecard
from tingyin.qa.scoring import Answer, ScoreResult, score


def propose(card: Scorecard, findings: Sequence[Finding]) -> tuple[dict[str, Answer], ScoreResult]:
    """Answers for the items whose ``auto`` check ran (passed: yes / the scale's top; failed:
    no / the scale's middle), and their score over those items only."""
    by_check = {f.check: f for f in findings}
    answers: dict[str, Answer] = {}
    for item in card.items():
        found = by_check.get(item.auto or "")
        if found is None:
            continue
        if item.answer == "yes_no":
            answers[item.id] = "yes" if found.passed else "no"
        elif item.answer == "scale" and item.scale_max is not None:
            answers[item.id] = item.scale_max if found.passed else item.scale_max // 2
    return answers, score(card, answers, partial=True)


def sampled(call_id: str, share: float) -> bool:
    """Whether a call falls in the random share: decided by its id, so the same every time
    (and a share of each agent's calls, since ids do not depend on the agent)."""
    point = int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return point < share


def review_reasons(
    call_id: str,
    rules: Sampling,
    *,
    auto_total: float | None,
    ticket_categories: Sequence[str],
    live_alert: bool,
) -> list[str]:
    """Why a finished call goes to the review queue (empty: it does not)."""
    reasons = []
    if sampled(call_id, rules.random_share):
        reasons.append("random")
    wanted = set(rules.complaint_categories)
    if ticket_categories and (not wanted or wanted & set(ticket_categories)):
        reasons.append("complaint")
    if auto_total is not None and auto_total < rules.low_auto_score:
        reasons.append("low_auto")
    if rules.live_alert and live_alert:
        reasons.append("live_alert")
    return reasons
