"""Everything that changes QA data: each function checks, writes its rows and the audit entry
in the caller's transaction (a refused step stores nothing), and returns what it wrote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.audit.actions import record_audit
from tingyin.qa.checks import Sampling
from tingyin.qa.findings import Finding
from tingyin.qa.proposal import review_reasons
from tingyin.qa.queries import alert_names
from tingyin.qa.scorecard import Scorecard, scorecard_from_definition
from tingyin.qa.scoring import Answer, ScoreResult, score
from tingyin.store.models import (
    Call,
    CallEventRow,
    QaAppeal,
    QaCalibration,
    QaComment,
    QaEvaluation,
    QaReviewItem,
    QaScorecardVersion,
    Ticket,
    TicketCall,
    User,
)

REVIEWER_ROLES = ("supervisor", "qa", "admin")
DECIDER_ROLES = ("supervisor", "admin")  # appeals are decided by a supervisor
MAX_TEXT = 2000


class QaError(Exception):
    """A refused request: ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def scorecard_version(session: Session, card: Scorecard, now: datetime) -> QaScorecardVersion:
    """The stored row of this exact scorecard (by content hash), added on first use."""
    row = session.scalars(
        select(QaScorecardVersion).where(QaScorecardVersion.content_hash == card.content_hash)
    ).first()
    if row is None:
        row = QaScorecardVersion(
            scorecard_key=card.id,
            version=card.version,
            content_hash=card.content_hash,
            name=card.name,
            definition=card.definition(),
            created_at=now,
        )
        session.add(row)
        session.flush()
    return row


def card_of(row: QaScorecardVersion) -> Scorecard:
    return scorecard_from_definition(row.definition, row.content_hash)


def agent_of_call(session: Session, call_id: str) -> int | None:
    """The agent who talked to the caller (the last agent leg answered on the call)."""
    rows = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id == call_id, CallEventRow.kind == "agent_leg")
        .order_by(CallEventRow.at.desc(), CallEventRow.id.desc())
    )
    for row in rows:
        if row.data.get("state") == "answered" and row.data.get("agent_id"):
            return int(row.data["agent_id"])
    return None


def _call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise QaError(404, "no such call")
    return call


def _fill(row: QaEvaluation, answers: Mapping[str, Answer], result: ScoreResult) -> None:
    row.answers = dict(answers)
    row.total, row.raw_total = result.total, result.raw_total
    row.critical_failed = result.critical_failed
    row.resolution_level = result.resolution_level


def store_auto_proposal(
    session: Session,
    card: Scorecard,
    call_id: str,
    findings: Sequence[Finding],
    metrics: dict[str, Any],
    answers: Mapping[str, Answer],
    result: ScoreResult,
    now: datetime,
) -> QaEvaluation:
    """The call's automatic proposal (replacing an earlier one: a re-run is the newer truth)."""
    _call(session, call_id)
    version = scorecard_version(session, card, now)
    row = session.scalars(
        select(QaEvaluation).where(QaEvaluation.call_id == call_id, QaEvaluation.kind == "auto")
    ).first()
    agent_id = agent_of_call(session, call_id)
    if row is None:
        row = QaEvaluation(call_id=call_id, kind="auto", created_at=now)
    row.scorecard_version_id = version.id
    row.agent_id = agent_id
    _fill(row, answers, result)
    row.findings = [f.as_json() for f in findings]
    row.metrics = metrics
    failed = [f.check for f in findings if not f.passed]
    row.summary = "failed: " + ", ".join(failed) if failed else "all checks passed"
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def submit_evaluation(
    session: Session,
    card: Scorecard,
    call_id: str,
    *,
    kind: str,
    evaluator: User,
    answers: Mapping[str, Answer],
    now: datetime,
    calibration_id: int | None = None,
) -> QaEvaluation:
    """A person's score of a call: ``live`` while listening, ``post_call`` on the review page."""
    call = _call(session, call_id)
    if evaluator.role not in REVIEWER_ROLES:
        raise QaError(403, "only supervisors and QA score calls")
    if kind not in ("live", "post_call"):
        raise QaError(422, f"kind must be live or post_call, not {kind!r}")
    if kind == "post_call" and call.ended_at is None:
        raise QaError(409, "the call is still on: score it live, or after it ends")
    if calibration_id is not None:
        calibration = session.get(QaCalibration, calibration_id)
        if calibration is None or calibration.call_id != call_id:
            raise QaError(404, "no such calibration for this call")
        mine = session.scalars(
            select(QaEvaluation.id).where(
                QaEvaluation.calibration_id == calibration_id,
                QaEvaluation.evaluator_id == evaluator.id,
            )
        ).first()
        if mine is not None:
            raise QaError(409, "you have already scored this calibration")
    result = score(card, answers)
    if not result.ok:
        raise QaError(422, "; ".join(result.errors))
    version = scorecard_version(session, card, now)
    row = QaEvaluation(
        call_id=call_id,
        scorecard_version_id=version.id,
        kind=kind,
        evaluator_id=evaluator.id,
        agent_id=agent_of_call(session, call_id),
        calibration_id=calibration_id,
        findings=[],
        metrics={},
        summary="",
        created_at=now,
        updated_at=now,
    )
    _fill(row, answers, result)
    session.add(row)
    session.flush()
    if calibration_id is None:
        for item in session.scalars(
            select(QaReviewItem).where(
                QaReviewItem.call_id == call_id, QaReviewItem.done.is_(False)
            )
        ):
            item.done = True
    record_audit(
        session,
        evaluator,
        "qa.evaluate",
        "call",
        call_id,
        {"evaluation": row.id, "kind": kind, "total": row.total, "calibration": calibration_id},
    )
    return row


def add_comment(
    session: Session,
    call_id: str,
    author: User,
    at_seconds: float,
    text: str,
    now: datetime,
    evaluation_id: int | None = None,
) -> QaComment:
    call = _call(session, call_id)
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise QaError(422, f"a comment needs 1 to {MAX_TEXT} characters")
    limit = call.recording_seconds
    if at_seconds < 0 or (limit is not None and at_seconds > limit + 1):
        raise QaError(422, "the moment is outside the recording")
    if evaluation_id is not None:
        evaluation = session.get(QaEvaluation, evaluation_id)
        if evaluation is None or evaluation.call_id != call_id:
            raise QaError(404, "no such evaluation for this call")
    comment = QaComment(
        call_id=call_id,
        evaluation_id=evaluation_id,
        author_id=author.id,
        at_seconds=round(at_seconds, 2),
        text=text,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    return comment


def open_calibration(
    session: Session, call_id: str, user: User, note: str, now: datetime
) -> QaCalibration:
    _call(session, call_id)
    row = QaCalibration(
        call_id=call_id, created_by=user.id, note=note.strip()[:255], created_at=now
    )
    session.add(row)
    session.flush()
    record_audit(session, user, "qa.calibration", "call", call_id, {"calibration": row.id})
    return row


def open_appeal(
    session: Session, evaluation: QaEvaluation, agent: User, reason: str, now: datetime
) -> QaAppeal:
    """The scored agent disputes a person's score (not the automatic proposal)."""
    if evaluation.agent_id != agent.id:
        raise QaError(403, "only the agent this score is about may appeal it")
    if evaluation.kind == "auto" or evaluation.calibration_id is not None:
        raise QaError(409, "only a final score can be appealed")
    reason = reason.strip()
    if not reason or len(reason) > MAX_TEXT:
        raise QaError(422, f"an appeal needs a reason of 1 to {MAX_TEXT} characters")
    pending = session.scalars(
        select(QaAppeal.id).where(
            QaAppeal.evaluation_id == evaluation.id, QaAppeal.status == "open"
        )
    ).first()
    if pending is not None:
        raise QaError(409, "this score already has an open appeal")
    appeal = QaAppeal(
        evaluation_id=evaluation.id,
        agent_id=agent.id,
        reason=reason,
        status="open",
        decision="",
        opened_at=now,
        log=[_step(now, agent, "opened", reason)],
    )
    session.add(appeal)
    session.flush()
    record_audit(
        session, agent, "qa.appeal.open", "qa_evaluation", str(evaluation.id), {"appeal": appeal.id}
    )
    return appeal


def decide_appeal(
    session: Session,
    appeal: QaAppeal,
    decider: User,
    *,
    outcome: str,
    decision: str,
    now: datetime,
    answers: Mapping[str, Answer] | None = None,
) -> QaAppeal:
    """Upheld (the score is re-made from ``answers`` on its own scorecard version) or
    rejected; either way the decision is logged on the appeal and in the audit log."""
    if decider.role not in DECIDER_ROLES:
        raise QaError(403, "only a supervisor decides appeals")
    if appeal.status != "open":
        raise QaError(409, f"this appeal is already {appeal.status}")
    if outcome not in ("upheld", "rejected"):
        raise QaError(422, "outcome must be upheld or rejected")
    decision = decision.strip()
    if not decision or len(decision) > MAX_TEXT:
        raise QaError(422, f"a decision needs 1 to {MAX_TEXT} characters")
    evaluation = session.get(QaEvaluation, appeal.evaluation_id)
    assert evaluation is not None  # the foreign key cascades
    if outcome == "upheld":
        if answers is None:
            raise QaError(422, "an upheld appeal needs the corrected answers")
        version = session.get(QaScorecardVersion, evaluation.scorecard_version_id)
        assert version is not None
        result = score(card_of(version), {**evaluation.answers, **answers})
        if not result.ok:
            raise QaError(422, "; ".join(result.errors))
        appeal.previous_total = evaluation.total
        _fill(evaluation, {**evaluation.answers, **answers}, result)
        evaluation.updated_at = now
    appeal.status, appeal.decision = outcome, decision
    appeal.decided_by, appeal.decided_at = decider.id, now
    appeal.log = [*appeal.log, _step(now, decider, outcome, decision)]
    record_audit(
        session,
        decider,
        "qa.appeal.decide",
        "qa_evaluation",
        str(evaluation.id),
        {
            "appeal": appeal.id,
            "outcome": outcome,
            "total": evaluation.total,
            "previous_total": appeal.previous_total,
        },
    )
    return appeal


def _step(now: datetime, user: User, action: str, note: str) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "user_id": user.id,
        "username": user.username,
        "action": action,
        "note": note,
    }


def queue_for_review(
    session: Session, rules: Sampling, call_id: str, auto_total: float | None, now: datetime
) -> list[str]:
    """Put a finished call on the review queue for each sampling rule it meets; the reasons."""
    categories = list(
        session.scalars(
            select(Ticket.category)
            .join(TicketCall, TicketCall.ticket_id == Ticket.id)
            .where(TicketCall.call_id == call_id)
        )
    )
    # The room's alerts stored with the call; not the screen pop's revision, which also moves
    # when the IVR path arrives.
    alert = bool(alert_names(session, [call_id]))
    reasons = review_reasons(
        call_id, rules, auto_total=auto_total, ticket_categories=categories, live_alert=alert
    )
    have = set(session.scalars(select(QaReviewItem.reason).where(QaReviewItem.call_id == call_id)))
    agent = agent_of_call(session, call_id)
    for reason in reasons:
        if reason not in have:
            session.add(
                QaReviewItem(
                    call_id=call_id,
                    reason=reason,
                    agent_id=agent,
                    auto_total=auto_total,
                    done=False,
                    created_at=now,
                )
            )
    return reasons
