"""QA routes: the scorecard, a call's review (transcript, waveform, automatic proposal, scores,
comments), scoring live or after the call, calibration rounds, appeals and the review queue.

Supervisors, QA and admins review and score; an agent sees their own scores with the evidence
and may appeal them; a supervisor (or admin) decides appeals. Changes are audited (actions.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from tingyin.asr.queries import segments
from tingyin.bus.events import utcnow
from tingyin.privacy import mask_number
from tingyin.qa import actions, performance_api, queries
from tingyin.qa.actions import DECIDER_ROLES, REVIEWER_ROLES, QaError
from tingyin.qa.auto import QaRules, run_auto_qa
from tingyin.qa.checks import QaChecksError, load_qa_checks
from tingyin.qa.schemas import (
    AppealIn,
    AppealOut,
    AutoRunOut,
    CalibrationIn,
    CalibrationOut,
    CommentIn,
    CommentOut,
    DecisionIn,
    EvaluationIn,
    EvaluationOut,
    MyEvaluationOut,
    PeaksOut,
    ReviewItemOut,
    ReviewOut,
    ScorecardOut,
    SegmentOut,
    SpreadOut,
)
from tingyin.qa.scorecard import ScorecardError, load_scorecard
from tingyin.qa.scoring import spread
from tingyin.qa.waveform import peaks
from tingyin.store.models import (
    Call,
    CallContext,
    QaAppeal,
    QaCalibration,
    QaEvaluation,
    QaScorecardVersion,
    User,
)
from tingyin.telephony.api import recording_file
from tingyin.web.context import AppContext
from tingyin.web.deps import AppSettings, CurrentUser, DbSession, require_roles
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(prefix="/api/qa", tags=["qa"])
Reviewer = Annotated[User, Depends(require_roles(*REVIEWER_ROLES))]
Decider = Annotated[User, Depends(require_roles(*DECIDER_ROLES))]
CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]


def qa_rules(request: Request) -> QaRules:
    """The scorecard and checks from the settings, loaded once per app."""
    rules = getattr(request.app.state, "qa_rules", None)
    if rules is None:
        settings = cast(AppContext, request.app.state.context).settings
        try:
            card = load_scorecard(settings.qa.scorecard_file)
            checks = load_qa_checks(settings.qa.checks_file)
        except (ScorecardError, QaChecksError) as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        rules = request.app.state.qa_rules = QaRules(card, checks)
    return cast(QaRules, rules)


Rules = Annotated[QaRules, Depends(qa_rules)]


def _refused(exc: QaError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


def _call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    return call


def _comment_out(session: Session, call_id: str) -> list[CommentOut]:
    return [
        CommentOut.model_validate(c).model_copy(update={"author": name})
        for c, name in queries.comments(session, call_id)
    ]


@router.get("/scorecard", response_model=ScorecardOut)
def current_scorecard(session: DbSession, rules: Rules, user: CurrentUser) -> ScorecardOut:
    """The scorecard new scores are made with (stored as a version on first use)."""
    row = actions.scorecard_version(session, rules.card, utcnow())
    return _scorecard_out(row)


@router.get("/scorecards/{version_id}", response_model=ScorecardOut)
def scorecard_version(version_id: int, session: DbSession, user: CurrentUser) -> ScorecardOut:
    """A stored version: the one an old score was made with."""
    row = session.get(QaScorecardVersion, version_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such scorecard version")
    return _scorecard_out(row)


def _scorecard_out(row: QaScorecardVersion) -> ScorecardOut:
    return ScorecardOut(
        version_id=row.id,
        id=row.scorecard_key,
        version=row.version,
        content_hash=row.content_hash,
        name=row.name,
        pass_score=float(row.definition.get("pass_score", 0)),
        definition=row.definition,
    )


@router.get("/calls/{call_id}", response_model=ReviewOut)
def review(call_id: CallId, session: DbSession, user: Reviewer) -> ReviewOut:
    """What the review page needs for one call."""
    call = _call(session, call_id)
    agent_id = actions.agent_of_call(session, call_id)
    agent = session.get(User, agent_id) if agent_id else None
    context = session.get(CallContext, call_id)
    auto = queries.auto_proposal(session, call_id)
    return ReviewOut(
        call_id=call.id,
        started_at=call.started_at,
        ended_at=call.ended_at,
        status=call.status,
        caller=mask_number(call.caller_number),
        recording_seconds=call.recording_seconds,
        has_recording=bool(call.recording_path),
        agent_id=agent_id,
        agent=(agent.display_name or agent.username) if agent else "",
        order_no=context.order_no if context else None,
        tickets=queries.call_tickets(session, call_id),
        segments=[SegmentOut.model_validate(s) for s in segments(session, call_id)],
        comments=_comment_out(session, call_id),
        auto=EvaluationOut.model_validate(auto) if auto else None,
        evaluations=[
            EvaluationOut.model_validate(e) for e in queries.final_evaluations(session, call_id)
        ],
    )


@router.get("/calls/{call_id}/auto", response_model=EvaluationOut)
def auto_proposal(call_id: CallId, session: DbSession, user: Reviewer) -> EvaluationOut:
    """The automatic proposal: pre-filled answers, findings with their moments, metrics."""
    row = queries.auto_proposal(session, call_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no automatic QA for this call yet")
    return EvaluationOut.model_validate(row)


@router.post("/calls/{call_id}/auto", response_model=AutoRunOut)
def run_auto(
    call_id: CallId, request: Request, rules: Rules, settings: AppSettings, user: Reviewer
) -> AutoRunOut:
    """Run the automatic QA again now (after a post-call transcript, or a changed checks file)."""
    db = cast(AppContext, request.app.state.context).db

    def find(stored: str) -> Path | None:
        return recording_file(settings, stored)

    result = run_auto_qa(db, rules, call_id, find)
    if result is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the call is unknown, not answered or on")
    return AutoRunOut(
        evaluation_id=result.evaluation_id,
        total=result.total,
        critical_failed=result.critical_failed,
        review_reasons=list(result.review_reasons),
        seconds=round(result.seconds, 3),
    )


@router.get("/calls/{call_id}/peaks", response_model=PeaksOut)
def waveform(
    call_id: CallId,
    session: DbSession,
    settings: AppSettings,
    user: Reviewer,
    buckets: Annotated[int, Query(ge=10, le=4000)] = 800,
) -> PeaksOut:
    """The recording's waveform (peak per bucket, each leg) for drawing; not the audio."""
    call = _call(session, call_id)
    path = recording_file(settings, call.recording_path) if call.recording_path else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no recording for this call")
    try:
        found = peaks(path, buckets)
    except (OSError, ValueError, EOFError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"recording not readable: {exc}") from None
    return PeaksOut(seconds=found.seconds, rate=found.rate, caller=found.caller, agent=found.agent)


@router.post("/calls/{call_id}/evaluations", status_code=201, response_model=EvaluationOut)
def evaluate(
    call_id: CallId, body: EvaluationIn, session: DbSession, rules: Rules, user: Reviewer
) -> EvaluationOut:
    """A score: ``live`` while listening in, ``post_call`` on the review page."""
    now = utcnow()
    try:
        row = actions.submit_evaluation(
            session, rules.card, call_id, kind=body.kind, evaluator=user, answers=body.answers,
            now=now, calibration_id=body.calibration_id,
        )  # fmt: skip
        if body.comment.strip():
            actions.add_comment(session, call_id, user, 0.0, body.comment, now, row.id)
    except QaError as exc:
        raise _refused(exc) from None
    return EvaluationOut.model_validate(row)


@router.post("/calls/{call_id}/comments", status_code=201, response_model=CommentOut)
def comment(call_id: CallId, body: CommentIn, session: DbSession, user: Reviewer) -> CommentOut:
    """A remark pinned to a moment of the recording."""
    try:
        row = actions.add_comment(
            session, call_id, user, body.at_seconds, body.text, utcnow(), body.evaluation_id
        )
    except QaError as exc:
        raise _refused(exc) from None
    return CommentOut.model_validate(row).model_copy(
        update={"author": user.display_name or user.username}
    )


@router.post("/calibrations", status_code=201, response_model=CalibrationOut)
def calibrate(body: CalibrationIn, session: DbSession, user: Reviewer) -> CalibrationOut:
    """A round of blind scores of one call; each evaluator sees the spread once they scored."""
    try:
        row = actions.open_calibration(session, body.call_id, user, body.note, utcnow())
    except QaError as exc:
        raise _refused(exc) from None
    return CalibrationOut(id=row.id, call_id=row.call_id, note=row.note,
                          created_at=row.created_at, scored=False, count=0)  # fmt: skip


@router.get("/calibrations/{calibration_id}", response_model=CalibrationOut)
def calibration(calibration_id: int, session: DbSession, user: Reviewer) -> CalibrationOut:
    row = session.get(QaCalibration, calibration_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such calibration")
    scores = queries.calibration_evaluations(session, calibration_id)
    out = CalibrationOut(id=row.id, call_id=row.call_id, note=row.note,
                         created_at=row.created_at, count=len(scores),
                         scored=any(e.evaluator_id == user.id for e in scores))  # fmt: skip
    if not out.scored:
        return out  # blind: nothing of the others' scores before one's own
    found = spread(
        [e.total for e in scores], [e.answers for e in scores], [e.resolution_level for e in scores]
    )
    return out.model_copy(
        update={
            "spread": SpreadOut(**found.__dict__),
            "evaluations": [EvaluationOut.model_validate(e) for e in scores],
        }
    )


@router.get("/my/evaluations", response_model=list[MyEvaluationOut])
def my_evaluations(session: DbSession, user: CurrentUser) -> list[MyEvaluationOut]:
    """The logged-in agent's scores, newest first, with the evidence behind each."""
    out = []
    for row in queries.agent_evaluations(session, user.id):
        auto = queries.auto_proposal(session, row.call_id)
        out.append(
            MyEvaluationOut(
                evaluation=EvaluationOut.model_validate(row),
                evidence=auto.findings if auto else [],
                comments=_comment_out(session, row.call_id),
                appeals=[
                    AppealOut.model_validate(a)
                    for a in queries.appeals(session, evaluation_id=row.id)
                ],
            )
        )
    return out


@router.post("/evaluations/{evaluation_id}/appeals", status_code=201, response_model=AppealOut)
def appeal(evaluation_id: int, body: AppealIn, session: DbSession, user: CurrentUser) -> AppealOut:
    row = session.get(QaEvaluation, evaluation_id)
    if row is None or (row.agent_id != user.id and user.role not in REVIEWER_ROLES):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evaluation")
    try:
        made = actions.open_appeal(session, row, user, body.reason, utcnow())
    except QaError as exc:
        raise _refused(exc) from None
    return AppealOut.model_validate(made)


@router.get("/appeals", response_model=list[AppealOut])
def list_appeals(
    session: DbSession,
    user: Reviewer,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(open|upheld|rejected)$")
    ] = None,
) -> list[AppealOut]:
    return [AppealOut.model_validate(a) for a in queries.appeals(session, status=status_)]


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide(appeal_id: int, body: DecisionIn, session: DbSession, user: Decider) -> AppealOut:
    row = session.get(QaAppeal, appeal_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such appeal")
    try:
        actions.decide_appeal(session, row, user, outcome=body.outcome, decision=body.decision,
                              now=utcnow(), answers=body.answers)  # fmt: skip
    except QaError as exc:
        raise _refused(exc) from None
    return AppealOut.model_validate(row)


@router.get("/review-queue", response_model=list[ReviewItemOut])
def review_queue(
    session: DbSession,
    user: Reviewer,
    done: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ReviewItemOut]:
    """Calls the sampling rules picked (random share, complaints, low auto score, live alerts);
    those with live alerts first, with the alerts' rule names."""
    items = queries.review_queue(session, done=done, limit=limit)
    alerts = queries.alert_names(session, sorted({r.call_id for r in items}))
    return [
        ReviewItemOut.model_validate(r).model_copy(update={"alerts": alerts.get(r.call_id, [])})
        for r in items
    ]


# Agent performance (per agent and team, trends, CSV) lives in its own module.
router.include_router(performance_api.router)
