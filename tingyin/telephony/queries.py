from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.store.models import Call, CallEventRow


def list_calls(
    session: Session,
    *,
    limit: int = 100,
    before: datetime | None = None,
    status: str | None = None,
) -> Sequence[Call]:
    query = select(Call).order_by(Call.started_at.desc()).limit(limit)
    if before is not None:
        query = query.where(Call.started_at < before)
    if status is not None:
        query = query.where(Call.status == status)
    return session.scalars(query).all()


def get_call(session: Session, call_id: str) -> Call | None:
    return session.get(Call, call_id)


def call_events(session: Session, call_id: str) -> Sequence[CallEventRow]:
    return session.scalars(
        select(CallEventRow).where(CallEventRow.call_id == call_id).order_by(CallEventRow.id)
    ).all()


def dtmf_by_call(session: Session, call_ids: Sequence[str]) -> dict[str, str]:
    """The digits pressed in each call, in order: one query for a whole page of calls."""
    rows = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id.in_(call_ids), CallEventRow.kind == "dtmf")
        .order_by(CallEventRow.id)
    )
    digits: dict[str, str] = {}
    for row in rows:
        digits[row.call_id] = digits.get(row.call_id, "") + str(row.data.get("digit", ""))
    return digits
