"""Reads for the wallboard: calls in progress with their screen pop and last words, the queues'
figures for today, and the alerts stored with calls (call_events, kind "alert")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.privacy import mask_number
from tingyin.store.models import Call, CallContext, CallEventRow, TranscriptSegment

LIVE_WINDOW = timedelta(hours=12)  # an open call older than this lost its end: not shown
LAST_LINES = 4
MAX_ALERTS = 50


@dataclass
class LiveCall:
    call_id: str
    started_at: datetime
    answered_at: datetime | None
    caller: str  # masked
    agent_id: int = 0
    caller_kind: str = ""
    name: str = ""
    flags: list[str] = field(default_factory=list)
    order_no: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)  # leg, start, text


@dataclass
class QueueFigures:
    waiting: int = 0
    longest_wait_seconds: float = 0.0
    answered: int = 0
    abandoned: int = 0
    answered_in_time: int = 0
    service_level_seconds: int = 20

    @property
    def service_level(self) -> float | None:
        """Answered within the target, of those that stopped waiting (None: nobody yet)."""
        total = self.answered + self.abandoned
        return round(self.answered_in_time / total, 4) if total else None


def live_calls(session: Session, now: datetime) -> list[LiveCall]:
    calls = session.scalars(
        select(Call)
        .where(Call.ended_at.is_(None), Call.started_at >= now - LIVE_WINDOW)
        .order_by(Call.started_at)
    ).all()
    ids = [c.id for c in calls]
    if not ids:
        return []
    contexts = {
        c.call_id: c
        for c in session.scalars(select(CallContext).where(CallContext.call_id.in_(ids)))
    }
    agents: dict[str, int] = {}
    legs = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id.in_(ids), CallEventRow.kind == "agent_leg")
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    for row in legs:  # the agent now on each call (after a transfer: the last one)
        state, agent = row.data.get("state"), int(row.data.get("agent_id") or 0)
        if state == "answered":
            agents[row.call_id] = agent
        elif state in ("ended", "failed") and agents.get(row.call_id) == agent:
            del agents[row.call_id]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    segments = session.scalars(
        select(TranscriptSegment)
        .where(TranscriptSegment.call_id.in_(ids))
        .order_by(TranscriptSegment.start)
    )
    for seg in segments:
        lines[seg.call_id].append({"leg": seg.leg, "start": seg.start, "text": seg.text})
    out: list[LiveCall] = []
    for call in calls:
        live = LiveCall(
            call_id=call.id,
            started_at=call.started_at,
            answered_at=call.answered_at,
            caller=mask_number(call.caller_number) if call.caller_number else "",
            agent_id=agents.get(call.id, 0),
            lines=lines[call.id][-LAST_LINES:],
        )
        context = contexts.get(call.id)
        if context is not None:
            live.caller_kind, live.order_no = context.caller_kind, context.order_no
            live.name = str(context.payload.get("name") or "")
            live.flags = [str(f) for f in context.payload.get("flags") or []]
        out.append(live)
    return out


def queue_figures(
    session: Session, since: datetime, now: datetime, service_level_seconds: int
) -> QueueFigures:
    """Who waits now (queued, not yet out of the queue, call not ended) and today's outcomes."""
    figures = QueueFigures(service_level_seconds=service_level_seconds)
    open_ids = select(Call.id).where(Call.ended_at.is_(None), Call.started_at >= now - LIVE_WINDOW)
    queued_at: dict[str, datetime | None] = {}
    rows = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id.in_(open_ids), CallEventRow.kind.in_(("queued", "queue_left")))
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    for row in rows:
        queued_at[row.call_id] = row.at if row.kind == "queued" else None
    waits = [(now - at).total_seconds() for at in queued_at.values() if at is not None]
    figures.waiting = len(waits)
    figures.longest_wait_seconds = round(max(waits, default=0.0), 1)
    left = session.scalars(
        select(CallEventRow).where(
            CallEventRow.kind == "queue_left", CallEventRow.at >= since, CallEventRow.at <= now
        )
    )
    for row in left:
        outcome = row.data.get("outcome")
        if outcome == "answered":
            figures.answered += 1
            waited = float(row.data.get("waited_seconds") or 0.0)
            figures.answered_in_time += waited <= service_level_seconds
        elif outcome == "abandoned":
            figures.abandoned += 1
    return figures


def stored_alerts(
    session: Session, since: datetime, limit: int = MAX_ALERTS
) -> list[tuple[CallEventRow, bool]]:
    """Alerts since ``since``, newest first, each with whether its call is still on."""
    rows = session.execute(
        select(CallEventRow, Call.ended_at)
        .join(Call, Call.id == CallEventRow.call_id)
        .where(CallEventRow.kind == "alert", CallEventRow.at >= since)
        .order_by(CallEventRow.at.desc(), CallEventRow.id.desc())
        .limit(limit)
    ).all()
    return [(row, ended_at is None) for row, ended_at in rows]
