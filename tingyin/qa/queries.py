"""Reading QA data: a call's scores and comments, calibration rounds, appeals, the queue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, exists, select
from sqlalchemy.orm import Session

from tingyin.store.models import (
    CallEventRow,
    QaAppeal,
    QaComment,
    QaEvaluation,
    QaReviewItem,
    Ticket,
    TicketCall,
    User,
)


def auto_proposal(session: Session, call_id: str) -> QaEvaluation | None:
    return session.scalars(
        select(QaEvaluation).where(QaEvaluation.call_id == call_id, QaEvaluation.kind == "auto")
    ).first()


def final_evaluations(session: Session, call_id: str) -> list[QaEvaluation]:
    """People's scores of a call, oldest first (not the proposal, not calibration rounds)."""
    query = select(QaEvaluation).where(
        QaEvaluation.call_id == call_id,
        QaEvaluation.kind != "auto",
        QaEvaluation.calibration_id.is_(None),
    )
    return list(session.scalars(query.order_by(QaEvaluation.created_at, QaEvaluation.id)))


def calibration_evaluations(session: Session, calibration_id: int) -> list[QaEvaluation]:
    query = select(QaEvaluation).where(QaEvaluation.calibration_id == calibration_id)
    return list(session.scalars(query.order_by(QaEvaluation.id)))


def agent_evaluations(session: Session, agent_id: int, limit: int = 100) -> list[QaEvaluation]:
    query = select(QaEvaluation).where(
        QaEvaluation.agent_id == agent_id,
        QaEvaluation.kind != "auto",
        QaEvaluation.calibration_id.is_(None),
    )
    return list(session.scalars(query.order_by(QaEvaluation.created_at.desc()).limit(limit)))


def comments(session: Session, call_id: str) -> list[tuple[QaComment, str]]:
    query = (
        select(QaComment, User.display_name, User.username)
        .outerjoin(User, User.id == QaComment.author_id)
        .where(QaComment.call_id == call_id)
        .order_by(QaComment.at_seconds, QaComment.id)
    )
    return [(c, display or username or "") for c, display, username in session.execute(query)]


def appeals(
    session: Session, *, status: str | None = None, evaluation_id: int | None = None
) -> list[QaAppeal]:
    query = select(QaAppeal).order_by(QaAppeal.opened_at.desc(), QaAppeal.id.desc())
    if status is not None:
        query = query.where(QaAppeal.status == status)
    if evaluation_id is not None:
        query = query.where(QaAppeal.evaluation_id == evaluation_id)
    return list(session.scalars(query))


def review_queue(session: Session, *, done: bool = False, limit: int = 200) -> list[QaReviewItem]:
    """Calls with a live alert first (what the room flagged is worth a person's ear soonest),
    then the newest; within the limit, so a long queue never hides them."""
    alerted = exists().where(
        CallEventRow.call_id == QaReviewItem.call_id, CallEventRow.kind == "alert"
    )
    query = select(QaReviewItem).where(QaReviewItem.done.is_(done))
    order = (case((alerted, 0), else_=1), QaReviewItem.created_at.desc(), QaReviewItem.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def alert_names(session: Session, call_ids: Sequence[str]) -> dict[str, list[str]]:
    """The live alerts stored with each call (call_events kind "alert"): their rule names, each
    once, in the order they first fired. Calls without one are absent."""
    if not call_ids:
        return {}
    rows = session.execute(
        select(CallEventRow.call_id, CallEventRow.data)
        .where(CallEventRow.call_id.in_(list(call_ids)), CallEventRow.kind == "alert")
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    out: dict[str, list[str]] = {}
    for call_id, data in rows:
        names = out.setdefault(call_id, [])
        rule = str(data.get("rule") or "")
        if rule and rule not in names:
            names.append(rule)
    return out


def call_tickets(session: Session, call_id: str) -> list[str]:
    query = (
        select(Ticket.number)
        .join(TicketCall, TicketCall.ticket_id == Ticket.id)
        .where(TicketCall.call_id == call_id)
        .order_by(Ticket.opened_at)
    )
    return list(session.scalars(query))
