"""Call control from the desk: hand a customer on (blind transfer to a queue, an agent or an
outside number; attended transfer after consulting a colleague), or bring the merchant or the
rider into the call (3-way)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.agents.api import queue_config
from tingyin.bus.events import (
    ConsultRequested,
    OutsideTransferRequested,
    PartyRequested,
    TransferRequested,
)
from tingyin.phones import normalise
from tingyin.store.models import AgentProfile, Call, CallEventRow, User
from tingyin.web.deps import AppSettings, Bus, CurrentUser, DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["calls"])
CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
SUPERVISING = ("supervisor", "admin")
LIVE_CONSULT = ("ringing", "answered")


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str | None = Field(default=None, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    agent_id: int | None = Field(default=None, ge=1)
    number: str | None = Field(default=None, min_length=3, max_length=32,
                               pattern=NO_CONTROL_CHARS)  # fmt: skip

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if [self.queue, self.agent_id, self.number].count(None) != 2:
            raise ValueError("name one of a queue, an agent_id or a number")
        return self


class TransferOut(BaseModel):
    call_id: str
    status: str = "transferring"
    number: str = ""  # an outside number, masked


@router.post(
    "/api/calls/{call_id}/transfer",
    response_model=TransferOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def transfer(
    call_id: CallId, body: TransferIn, request: Request, session: DbSession, user: CurrentUser,
    bus: Bus, settings: AppSettings,
) -> TransferOut:  # fmt: skip
    """The agent on the call (or a supervisor) hands the customer on; the customer waits again
    ahead of new callers, the agent goes to wrap-up. To a ``number``: it is rung through the
    outbound route, the agent leaves, and the call ends when that party hangs up."""
    _on_the_call(session, call_id, user)
    if consult_in_progress(session, call_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "complete or cancel the consult first")
    if body.number is not None:
        number = normalise(body.number)
        if not number.usable:
            raise HTTPException(422, f"not a number that can be dialled ({number.kind})")
        if not settings.outbound.dial_uri:
            raise HTTPException(status.HTTP_409_CONFLICT, "outbound calls are off")
        bus.publish(OutsideTransferRequested(call_id=call_id, number=number.national,
                                             by_user=user.id))  # fmt: skip
        return TransferOut(call_id=call_id, number=number.masked)
    if body.queue is not None:
        known = [q.name for q in queue_config(request).queues]
        if body.queue not in known:
            raise HTTPException(422, f"unknown queue {body.queue!r} (known: {', '.join(known)})")
    if body.agent_id is not None and session.get(AgentProfile, body.agent_id) is None:
        raise HTTPException(422, f"agent {body.agent_id} has no agent profile")
    bus.publish(TransferRequested(call_id=call_id, queue=body.queue or "",
                                  agent_id=body.agent_id or 0, by_user=user.id))  # fmt: skip
    return TransferOut(call_id=call_id)


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=3, max_length=32, pattern=NO_CONTROL_CHARS)


class PartyOut(BaseModel):
    call_id: str
    status: str = "dialling"
    number: str  # masked


@router.post(
    "/api/calls/{call_id}/parties", response_model=PartyOut, status_code=status.HTTP_202_ACCEPTED
)
def add_party(
    call_id: CallId, body: PartyIn, session: DbSession, user: CurrentUser, bus: Bus
) -> PartyOut:
    """Ring a third party (the order's merchant or rider) into the call: a 3-way call."""
    _on_the_call(session, call_id, user)
    number = normalise(body.number)
    if not number.usable:
        raise HTTPException(422, f"not a number that can be dialled ({number.kind})")
    bus.publish(PartyRequested(call_id=call_id, number=number.national, by_user=user.id))
    return PartyOut(call_id=call_id, number=number.masked)


class ConsultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: int = Field(ge=1)


class ConsultOut(BaseModel):
    call_id: str
    status: str  # consulting | completing | cancelling
    agent_id: int = 0


@router.post(
    "/api/calls/{call_id}/consult", response_model=ConsultOut, status_code=status.HTTP_202_ACCEPTED
)
def consult(
    call_id: CallId, body: ConsultIn, session: DbSession, user: CurrentUser, bus: Bus
) -> ConsultOut:
    """Attended transfer: ring a ready colleague for the agent on the call; the customer holds
    with music meanwhile. Then ``/consult/complete`` or ``/consult/cancel``."""
    _on_the_call(session, call_id, user)
    if consult_in_progress(session, call_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "a consult is already in progress")
    target = session.get(AgentProfile, body.agent_id)
    if target is None:
        raise HTTPException(422, f"agent {body.agent_id} has no agent profile")
    if body.agent_id == user.id or target.state != "ready":
        raise HTTPException(status.HTTP_409_CONFLICT, "that agent is not ready")
    bus.publish(ConsultRequested(call_id=call_id, action="start", agent_id=body.agent_id,
                                 by_user=user.id))  # fmt: skip
    return ConsultOut(call_id=call_id, status="consulting", agent_id=body.agent_id)


@router.post(
    "/api/calls/{call_id}/consult/{action}",
    response_model=ConsultOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def consult_end(
    call_id: CallId,
    action: Annotated[str, PathParam(pattern=r"^(complete|cancel)$")],
    session: DbSession,
    user: CurrentUser,
    bus: Bus,
) -> ConsultOut:
    """``complete``: the colleague (who has answered) takes the customer and the first agent
    leaves; ``cancel``: the colleague's leg ends and the customer is back with the first agent."""
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call in progress")
    leg = consult_in_progress(session, call_id)
    if leg is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "no consult in progress")
    if user.id != leg.get("from_agent") and user.role not in SUPERVISING:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the consulting agent or a supervisor")
    if action == "complete" and leg.get("state") != "answered":
        raise HTTPException(status.HTTP_409_CONFLICT, "the colleague has not answered yet")
    bus.publish(ConsultRequested(call_id=call_id, action=action, by_user=user.id))
    done = "completing" if action == "complete" else "cancelling"
    return ConsultOut(call_id=call_id, status=done, agent_id=int(leg.get("agent_id", 0)))


def consult_in_progress(session: Session, call_id: str) -> dict[str, Any] | None:
    """The consult leg still ringing or talking on a call (its last CDR row), or None."""
    row = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.call_id == call_id, CallEventRow.kind == "consult_leg")
        .order_by(CallEventRow.at.desc(), CallEventRow.id.desc())
        .limit(1)
    ).first()
    if row is None or row.data.get("state") not in LIVE_CONSULT:
        return None
    return dict(row.data)


def _on_the_call(session: Session, call_id: str, user: User) -> Call:
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call in progress")
    mine = session.get(AgentProfile, user.id)
    on_it = mine is not None and mine.current_call_id == call_id and mine.state == "on_call"
    if not on_it and user.role not in SUPERVISING:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent on the call or a supervisor")
    return call
