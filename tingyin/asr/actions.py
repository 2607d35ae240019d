"""Storing transcripts: live and post-call segments, and each leg's status."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tingyin.bus.events import Event, TranscriptFinal, TranscriptLegStatus, utcnow
from tingyin.store.models import Call, TranscriptLeg, TranscriptSegment

log = logging.getLogger(__name__)


def apply_transcript_event(session: Session, event: Event) -> None:
    if isinstance(event, TranscriptFinal):
        if session.get(Call, event.call_id) is None:
            log.warning("transcript for unknown call %s dropped", event.call_id)
            return
        session.add(_segment(event))
    elif isinstance(event, TranscriptLegStatus):
        set_leg_status(session, event.call_id, event.leg, event.status, event.source, event.reason)
        if event.source == "post" and event.status == "transcribing":
            _delete_segments(session, event.call_id, event.leg, "post")  # a re-run starts clean
        elif event.source == "post" and event.status == "complete":
            _delete_segments(session, event.call_id, event.leg, "live")  # the file's is whole


def replace_leg_transcript(
    session: Session, call_id: str, leg: str, finals: Iterable[TranscriptFinal]
) -> int:
    """Swap a leg's transcript for a post-call one in one transaction; returns segments."""
    _delete_segments(session, call_id, leg, None)
    rows = [_segment(f) for f in finals]
    session.add_all(rows)
    set_leg_status(session, call_id, leg, "complete", "post", "")
    return len(rows)


def set_leg_status(
    session: Session, call_id: str, leg: str, status: str, source: str, reason: str
) -> None:
    if session.get(Call, call_id) is None:
        return
    row = session.get(TranscriptLeg, (call_id, leg))
    if row is None:
        row = TranscriptLeg(call_id=call_id, leg=leg)
        session.add(row)
    row.status, row.source, row.reason = status, source, reason[:255]
    row.updated_at = utcnow()


def _segment(event: TranscriptFinal) -> TranscriptSegment:
    return TranscriptSegment(
        call_id=event.call_id,
        leg=event.leg,
        start=event.start,
        end=event.end,
        text=event.text,
        words=[asdict(w) for w in event.words],
        source=event.source,
        created_at=event.at,
    )


def _delete_segments(session: Session, call_id: str, leg: str, source: str | None) -> None:
    query = delete(TranscriptSegment).where(
        TranscriptSegment.call_id == call_id, TranscriptSegment.leg == leg
    )
    if source is not None:
        query = query.where(TranscriptSegment.source == source)
    session.execute(query)
