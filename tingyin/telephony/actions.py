"""The CDR: call events from the media workers, applied to the store.

Each function takes the event and a session; the hub's recorder runs them on one DB thread in
arrival order. Events may arrive for a call the store has not seen (a worker restarted the hub
connection): rows are created on demand so nothing is lost.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.bus.events import (
    AgentLeg,
    CallAlert,
    CallAnswered,
    CallbackPlaced,
    CallEnded,
    CallEvent,
    CallFailed,
    CallQueued,
    CallRecordingStarted,
    CallRinging,
    ConsultLeg,
    DtmfReceived,
    Event,
    IvrEnded,
    IvrStep,
    PartyLeg,
    QueueLeft,
)
from tingyin.phones import lookup_key
from tingyin.store.models import Call, CallEventRow


def apply_call_event(session: Session, event: Event) -> None:
    if isinstance(event, CallRinging):
        _ringing(session, event)
    elif isinstance(event, CallEvent):
        call = session.get(Call, event.call_id) or _placeholder(session, event)
        if isinstance(event, CallAnswered):
            call.status = "answered"
            call.answered_at = event.at
            call.codec = event.codec or call.codec
        elif isinstance(event, CallRecordingStarted):
            call.recording_path = event.path
        elif isinstance(event, DtmfReceived):
            _log(session, event, "dtmf", {"digit": event.digit, "method": event.method})
        elif isinstance(event, IvrStep):
            step = {"node": event.node, "type": event.node_type}
            _log(session, event, "ivr", step | ({"result": event.result} if event.result else {}))
        elif isinstance(event, IvrEnded):
            _log(session, event, "ivr_end", {"outcome": event.outcome, "node": event.node})
        elif isinstance(event, CallQueued):
            _log(session, event, "queued", {"queue": event.queue})
        elif isinstance(event, QueueLeft):
            _log(session, event, "queue_left", {"queue": event.queue, "outcome": event.outcome,
                 "waited_seconds": event.waited_seconds, "agent_id": event.agent_id})  # fmt: skip
        elif isinstance(event, CallbackPlaced):
            _log(session, event, "callback", {"queue": event.queue, "outcome": event.outcome,
                 "callback_call_id": event.callback_call_id, "attempt": event.attempt})  # fmt: skip
        elif isinstance(event, PartyLeg):
            _log(session, event, "party_leg", {"leg_id": event.leg_id, "state": event.state,
                 "number": event.number, "reason": event.reason})  # fmt: skip
        elif isinstance(event, AgentLeg):
            _log(session, event, "agent_leg", {"leg_id": event.leg_id, "state": event.state,
                 "agent_id": event.agent_id, "reason": event.reason})  # fmt: skip
        elif isinstance(event, ConsultLeg):  # an attended transfer's colleague
            _log(session, event, "consult_leg", {"leg_id": event.leg_id, "state": event.state,
                 "agent_id": event.agent_id, "from_agent": event.from_agent,
                 "reason": event.reason})  # fmt: skip
        elif isinstance(event, CallAlert):  # the listening room's; QA's review queue reads them
            _log(session, event, "alert", {"rule": event.rule, "kind": event.kind,
                 "severity": event.severity, "at_seconds": event.at_seconds,
                 "text": event.text, "agent_id": event.agent_id})  # fmt: skip
        elif isinstance(event, CallEnded):
            _ended(call, event)
        elif isinstance(event, CallFailed) and call.ended_at is None:
            call.status = "failed"
            call.ended_at = event.at
            call.end_reason = event.reason


def fail_open_calls(session: Session, worker: int, reason: str, at: datetime) -> list[str]:
    """Mark every call still open on a worker as failed (the worker died)."""
    open_calls = session.scalars(
        select(Call).where(Call.worker == worker, Call.ended_at.is_(None))
    ).all()
    for call in open_calls:
        call.status = "failed"
        call.ended_at = at
        call.end_reason = reason
    return [call.id for call in open_calls]


def _ringing(session: Session, event: CallRinging) -> None:
    call = session.get(Call, event.call_id)
    if call is None:
        call = Call(id=event.call_id, status="ringing", legs=[], started_at=event.at)
        session.add(call)
    call.sip_call_id = event.sip_call_id
    call.direction = event.direction
    call.caller_number = event.caller
    call.caller_key = lookup_key(event.caller)
    call.dialed_number = event.dialed
    call.worker = event.worker


def _ended(call: Call, event: CallEnded) -> None:
    call.status = "ended" if call.answered_at is not None else "missed"
    call.ended_at = event.at
    call.end_reason = event.reason
    call.sip_status = event.sip_status or None
    if event.recording_path:
        call.recording_path = event.recording_path
        call.recording_seconds = event.recording_seconds
    call.legs = [dataclasses.asdict(leg) for leg in event.legs]


def _placeholder(session: Session, event: CallEvent) -> Call:
    call = Call(
        id=event.call_id,
        sip_call_id="",
        direction="inbound",
        caller_number="",
        dialed_number="",
        worker=-1,
        status="ringing",
        legs=[],
        started_at=event.at,
    )
    session.add(call)
    session.flush()
    return call


def _log(session: Session, event: CallEvent, kind: str, data: dict[str, Any]) -> None:
    session.add(CallEventRow(call_id=event.call_id, at=event.at, kind=kind, data=data))
