"""Automatic QA of one finished call: read its transcript and recording, run the checks, store
the pre-filled proposal and put the call on the review queue where the sampling rules say so.

The store is read and written in two short sessions; the audio work in between holds none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tingyin.asr.queries import segments
from tingyin.bus.events import utcnow
from tingyin.qa.actions import queue_for_review, store_auto_proposal
from tingyin.qa.auto_audio import audio_findings, measure_file
from tingyin.qa.auto_transcript import Utterance, transcript_findings
from tingyin.qa.checks import QaChecks
from tingyin.qa.findings import Finding
from tingyin.qa.proposal import propose
from tingyin.qa.scorecard import Scorecard
from tingyin.store import Database
from tingyin.store.models import Call

log = logging.getLogger(__name__)

RecordingFile = Callable[[str], Path | None]  # stored path → the file, if it is there


@dataclass(frozen=True)
class QaRules:
    card: Scorecard
    checks: QaChecks


@dataclass(frozen=True)
class AutoResult:
    evaluation_id: int
    total: float
    critical_failed: bool
    review_reasons: tuple[str, ...]
    seconds: float  # what the analysis cost


def analyse(
    rules: QaRules, utterances: list[Utterance], recording: Path | None, duration: float | None
) -> tuple[list[Finding], dict[str, Any]]:
    """Every check that can run: the transcript's always, the audio's when there is a file."""
    findings = transcript_findings(utterances, rules.checks.transcript, duration=duration)
    metrics: dict[str, Any] = {}
    if recording is not None:
        try:
            measured = measure_file(recording, rules.checks.audio)
        except (OSError, ValueError, EOFError) as exc:
            log.warning("QA: recording %s not analysed: %s", recording, exc)
            metrics["audio_error"] = str(exc)
        else:
            findings += audio_findings(measured, rules.checks.audio)
            metrics = measured.as_json()
    return findings, metrics


def run_auto_qa(
    db: Database, rules: QaRules, call_id: str, recording_file: RecordingFile
) -> AutoResult | None:
    """The call's automatic proposal, stored; None for a call that never reached anyone."""
    with db.session() as session:
        call = session.get(Call, call_id)
        if call is None or call.answered_at is None or call.ended_at is None:
            return None
        utterances = [
            Utterance(s.leg, s.start, s.end, s.text, tuple(s.words))
            for s in segments(session, call_id)
        ]
        recording = recording_file(call.recording_path) if call.recording_path else None
        duration = call.recording_seconds
    started = time.perf_counter()
    findings, metrics = analyse(rules, utterances, recording, duration)
    answers, result = propose(rules.card, findings)
    cost = time.perf_counter() - started
    metrics["analysis_seconds"] = round(cost, 3)
    now = utcnow()
    with db.session() as session:
        row = store_auto_proposal(
            session, rules.card, call_id, findings, metrics, answers, result, now
        )
        reasons = queue_for_review(session, rules.checks.sampling, call_id, result.total, now)
        return AutoResult(row.id, result.total, result.critical_failed, tuple(reasons), cost)
