"""Reading transcripts, and finding the calls whose transcripts are missing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.store.models import Call, TranscriptLeg, TranscriptSegment

LEGS = ("caller", "system")


def segments(session: Session, call_id: str) -> list[TranscriptSegment]:
    query = (
        select(TranscriptSegment)
        .where(TranscriptSegment.call_id == call_id)
        .order_by(TranscriptSegment.start, TranscriptSegment.leg, TranscriptSegment.id)
    )
    return list(session.scalars(query))


def leg_statuses(session: Session, call_id: str) -> list[TranscriptLeg]:
    query = select(TranscriptLeg).where(TranscriptLeg.call_id == call_id)
    return list(session.scalars(query.order_by(TranscriptLeg.leg)))


def calls_to_transcribe(
    session: Session,
    *,
    call_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    missing_only: bool = True,
) -> list[tuple[Call, list[str]]]:
    """Ended calls with a recording, and which of their legs to (re)transcribe."""
    query = select(Call).where(Call.recording_path.is_not(None), Call.ended_at.is_not(None))
    if call_id is not None:
        query = query.where(Call.id == call_id)
    if since is not None:
        query = query.where(Call.started_at >= since)
    if until is not None:
        query = query.where(Call.started_at < until)
    calls = list(session.scalars(query.order_by(Call.started_at)))
    done: dict[str, set[str]] = {}
    if missing_only and calls:
        rows = session.execute(
            select(TranscriptLeg.call_id, TranscriptLeg.leg).where(
                TranscriptLeg.call_id.in_([c.id for c in calls]),
                TranscriptLeg.status == "complete",
            )
        )
        for cid, leg in rows:
            done.setdefault(cid, set()).add(leg)
    out = []
    for call in calls:
        legs = [leg for leg in LEGS if leg not in done.get(call.id, set())]
        if legs:
            out.append((call, legs))
    return out
