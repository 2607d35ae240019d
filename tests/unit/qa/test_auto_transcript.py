"""Transcript checks on segments whose text the test controls (not the recogniser's output):
a planted greeting and a planted forbidden phrase are found, with the moment they were said."""

from __future__ import annotations

import pytest

from tests.unit.qa.support import AGENT_LINES, CALLER_LINES, words_of
from tingyin.qa.auto_transcript import Utterance, transcript_findings
from tingyin.qa.checks import TranscriptChecks, load_qa_checks
from tingyin.qa.findings import Finding
from tingyin.qa.proposal import propose
from tingyin.qa.scorecard import load_scorecard


@pytest.fixture(scope="module")
def checks() -> TranscriptChecks:
    return load_qa_checks().transcript


def utterances(
    agent: tuple[tuple[float, str], ...], caller: tuple[tuple[float, str], ...] = CALLER_LINES
) -> list[Utterance]:
    out = []
    for leg, lines in (("system", agent), ("caller", caller)):
        for at, text in lines:
            words = words_of(text, at)
            out.append(
                Utterance(
                    leg,
                    at,
                    words[-1].end,
                    text,
                    [{"word": w.word, "start": w.start, "end": w.end} for w in words],
                )
            )
    return out


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_the_planted_phrases_are_found_with_their_moments(checks: TranscriptChecks) -> None:
    found = by_check(transcript_findings(utterances(AGENT_LINES), checks, duration=30.0))
    assert all(
        found[c].passed
        for c in (
            "greeting",
            "order_asked",
            "order_confirmed",
            "empathy",
            "promised_time",
            "closing",
            "satisfaction_question",
        )
    )
    greeting = found["greeting"].evidence[0]
    assert (greeting.leg, greeting.text, greeting.start) == ("system", "您好", 5.0)
    forbidden = found["no_forbidden"]
    assert not forbidden.passed and forbidden.value == 1
    # "这个 我 也 不知道 …" said from 20.0 s, 0.4 s a word: 不知道 is the 4th word.
    (hit,) = forbidden.evidence
    assert (hit.text, hit.start, hit.end) == ("不知道", 21.2, 21.6)
    assert found["promised_time"].evidence[0].text == "30分钟"


def test_the_callers_words_do_not_count(checks: TranscriptChecks) -> None:
    calm = tuple(line for line in AGENT_LINES if "不知道" not in line[1])
    found = by_check(
        transcript_findings(
            utterances(calm, (*CALLER_LINES, (22.0, "你们 没办法 吗 我 不知道"))), checks
        )
    )
    assert found["no_forbidden"].passed


def test_a_greeting_late_in_the_call_is_no_greeting(checks: TranscriptChecks) -> None:
    late = ((5.0, "请问 订单号"), (40.0, "您好"))
    assert not by_check(transcript_findings(utterances(late), checks))["greeting"].passed


def test_the_proposal_fills_the_scorecard_and_fails_on_the_forbidden_phrase(
    checks: TranscriptChecks,
) -> None:
    card = load_scorecard()
    answers, result = propose(card, transcript_findings(utterances(AGENT_LINES), checks))
    assert answers["greeting"] == "yes" and answers["no_forbidden"] == "no"
    assert "resolution" not in answers and "dead_air" not in answers  # people and audio
    assert result.critical_failed and result.total == 0 and result.raw_total > 80
