"""Call control from the desk: hand a customer on (blind transfer to a queue or an agent), or
bring the merchant or the rider into the call (3-way)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tingyin.agents.api import queue_config
from tingyin.bus.events import PartyRequested, TransferRequested
from tingyin.phones import normalise
from tingyin.store.models import AgentProfile, Call
from tingyin.web.deps import Bus, CurrentUser, DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["calls"])
CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
SUPERVISING = ("supervisor", "admin")


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str | None = Field(default=None, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    agent_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.queue is None) == (self.agent_id is None):
            raise ValueError("name either a queue or an agent_id")
        return self


class TransferOut(BaseModel):
    call_id: str
    status: str = "transferring"


@router.post(
    "/api/calls/{call_id}/transfer",
    response_model=TransferOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def transfer(
    call_id: CallId, body: TransferIn, request: Request, session: DbSession, user: CurrentUser,
    bus: Bus,
) -> TransferOut:  # fmt: skip
    """The agent on the call (or a supervisor) hands the customer on; the customer waits again
    ahead of new callers, the agent goes to wrap-up."""
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call in progress")
    mine = session.get(AgentProfile, user.id)
    on_it = mine is not None and mine.current_call_id == call_id and mine.state == "on_call"
    if not on_it and user.role not in SUPERVISING:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent on the call or a supervisor")
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
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call in progress")
    mine = session.get(AgentProfile, user.id)
    on_it = mine is not None and mine.current_call_id == call_id and mine.state == "on_call"
    if not on_it and user.role not in SUPERVISING:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent on the call or a supervisor")
    number = normalise(body.number)
    if not number.usable:
        raise HTTPException(422, f"not a number that can be dialled ({number.kind})")
    bus.publish(PartyRequested(call_id=call_id, number=number.national, by_user=user.id))
    return PartyOut(call_id=call_id, number=number.masked)
