"""Storing transcripts: live and post-call segments, and each leg's status.

A leg's status is per channel of the recording (``caller``, ``system``); the right channel's
segments are labelled ``agent`` where an agent was on the call (``asr.dispatch`` does it live;
``replace_leg_transcript`` from the CDR's agent_leg events), so the ``system`` channel's
segments are those labelled ``system`` or ``agent``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tingyin.asr.speakers import AGENT, CHANNEL, AgentSpans
from tingyin.bus.events import Event, TranscriptFinal, TranscriptLegStatus, utcnow
from tingyin.store.models import Call, CallEventRow, TranscriptLeg, TranscriptSegment

log = logging.getLogger(__name__)

CHANNEL_LEGS = {CHANNEL: (CHANNEL, AGENT)}  # a channel → the segment labels it carries


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
    agents = agent_spans(session, call_id) if leg == CHANNEL else AgentSpans()
    rows = [_segment(agents.label(final)) for final in finals]
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


def agent_spans(session: Session, call_id: str) -> AgentSpans:
    """When agents were bridged, in seconds of the recording (it starts as the call is
    answered), from the CDR's agent_leg events."""
    call, agents = session.get(Call, call_id), AgentSpans()
    if call is None or call.answered_at is None:
        return agents
    rows = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id == call_id, CallEventRow.kind == "agent_leg")
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    for row in rows:
        second = (row.at - call.answered_at).total_seconds()
        if row.data.get("state") == "answered":
            agents.answered(second)
        elif row.data.get("state") == "ended":
            agents.left(second)
    return agents


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
    labels = CHANNEL_LEGS.get(leg, (leg,))
    query = delete(TranscriptSegment).where(
        TranscriptSegment.call_id == call_id, TranscriptSegment.leg.in_(labels)
    )
    if source is not None:
        query = query.where(TranscriptSegment.source == source)
    session.execute(query)
