"""Calls out from the desk: ``POST /api/calls/outbound`` dials a customer for the agent.

The agent must have a phone (a SIP URI, or ``browser`` for the desk's softphone) and not be
on a call; they are set on a call at once (the ACD offers them nothing meanwhile) and the hub's
``DeskDialer`` places the call. The number is written to the log masked, and never sent to
browsers in full.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from tingyin.agents.actions import AgentError, set_state, state_event
from tingyin.agents.api import Config
from tingyin.bus.events import OutboundRequested, utcnow
from tingyin.phones import normalise
from tingyin.store.models import AgentProfile
from tingyin.web.deps import AppSettings, Bus, CurrentUser, DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["calls"])


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=3, max_length=32, pattern=NO_CONTROL_CHARS)


class DialOut(BaseModel):
    call_id: str
    status: str = "dialling"
    number: str  # masked


@router.post(
    "/api/calls/outbound",
    response_model=DialOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "The agent is on a call or has no phone"},
        503: {"description": "Outbound calls are not configured"},
    },
)
def dial(
    body: DialIn, user: CurrentUser, session: DbSession, settings: AppSettings, config: Config,
    bus: Bus,
) -> DialOut:  # fmt: skip
    """Dial ``number`` for the logged-in agent: their phone rings (a browser softphone answers
    by itself) and the customer's phone rings; they talk once both have answered."""
    if not settings.outbound.dial_uri:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "outbound calls are off")
    number = normalise(body.number)
    if not number.usable:
        raise HTTPException(422, f"not a number that can be dialled ({number.kind})")
    profile = session.get(AgentProfile, user.id)
    if profile is None or not profile.phone_uri:
        raise HTTPException(status.HTTP_409_CONFLICT, "you have no phone to call from")
    phone_uri, call_id = profile.phone_uri, uuid.uuid4().hex
    try:
        profile = set_state(session, config, user.id, "on_call", now=utcnow(), by="system",
                            call_id=call_id)  # fmt: skip
    except AgentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"not now: {exc.message}") from None
    session.commit()
    bus.publish(state_event(user, profile))
    bus.publish(OutboundRequested(call_id=call_id, number=number.national, agent_id=user.id,
                                  phone_uri=phone_uri))  # fmt: skip
    return DialOut(call_id=call_id, number=number.masked)
