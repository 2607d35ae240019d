"""Transcript checks: greeting, asking for and confirming the order, empathy, forbidden phrases,
a promised time, closing and the satisfaction question — in the agent's words, with the moment
each was heard (so the review page can jump there). Pure: segments in, findings out.

Phrases match with the spaces removed: recognisers put word gaps into Chinese text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tingyin.qa.checks import TranscriptChecks
from tingyin.qa.findings import Evidence, Finding

CALLER_LEG = "caller"  # the left channel; every other leg is our side (the agent)


@dataclass(frozen=True)
class Utterance:
    """One transcript segment; ``words``: [{"word", "start", "end"}, …] as stored."""

    leg: str
    start: float
    end: float
    text: str
    words: Sequence[dict[str, Any]] = field(default_factory=tuple)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _at(utt: Utterance, pos: int, length: int) -> Evidence:
    """The span of a match at ``pos`` in the compacted text, timed by its words if known."""
    text = _compact(utt.text)
    start, end, offset = utt.start, utt.end, 0
    found_start = False
    for word in utt.words:
        piece = _compact(str(word.get("word", "")))
        w_end = offset + len(piece)
        if not found_start and w_end > pos:
            start, found_start = float(word.get("start", utt.start)), True
        if found_start and w_end >= pos + length:
            end = float(word.get("end", utt.end))
            break
        offset = w_end
    return Evidence(utt.leg, round(start, 2), round(end, 2), text[pos : pos + length])


def _hits(utts: Iterable[Utterance], phrases: Sequence[str]) -> list[Evidence]:
    out: list[Evidence] = []
    for utt in utts:
        text = _compact(utt.text)
        for phrase in phrases:
            needle = _compact(phrase)
            pos = text.find(needle)
            while needle and pos >= 0:
                out.append(_at(utt, pos, len(needle)))
                pos = text.find(needle, pos + len(needle))
    return sorted(out, key=lambda e: e.start)


def _pattern_hits(utts: Iterable[Utterance], patterns: Sequence[str]) -> list[Evidence]:
    out: list[Evidence] = []
    for utt in utts:
        text = _compact(utt.text)
        for pattern in patterns:
            for match in re.finditer(pattern, text):
                out.append(_at(utt, match.start(), match.end() - match.start()))
    return sorted(out, key=lambda e: e.start)


def _found(check: str, hits: list[Evidence], want: int = 1, note: str = "") -> Finding:
    return Finding(check, len(hits) >= want, float(len(hits)), note, tuple(hits[:5]))


def transcript_findings(
    utterances: Sequence[Utterance], checks: TranscriptChecks, *, duration: float | None = None
) -> list[Finding]:
    """One finding per transcript check; with no agent words at all, every check fails."""
    agent = sorted((u for u in utterances if u.leg != CALLER_LEG), key=lambda u: u.start)
    if not agent:
        note = "no agent speech in the transcript"
        names = ("greeting", "order_asked", "order_confirmed", "empathy", "promised_time",
                 "closing", "satisfaction_question")  # fmt: skip
        return [Finding(name, False, 0.0, note) for name in names] + [
            Finding("no_forbidden", True, 0.0, note)
        ]
    first = agent[0].start
    end = duration if duration is not None else max(u.end for u in utterances)
    opening = [u for u in agent if u.start <= first + checks.greeting_within_s]
    closing = [u for u in agent if u.end >= end - checks.closing_within_s]
    forbidden = _hits(agent, checks.forbidden)
    return [
        _found("greeting", _hits(opening, checks.greeting)),
        _found("order_asked", _hits(agent, checks.order_asked)),
        _found("order_confirmed", _hits(agent, checks.order_confirmed)),
        _found("empathy", _hits(agent, checks.empathy), checks.min_empathy),
        Finding(
            "no_forbidden",
            not forbidden,
            float(len(forbidden)),
            "forbidden phrase heard" if forbidden else "",
            tuple(forbidden[:5]),
        ),
        _found("promised_time", _pattern_hits(agent, checks.promised_time_patterns)),
        _found("closing", _hits(closing, checks.closing)),
        _found("satisfaction_question", _hits(closing, checks.satisfaction_question)),
    ]
