"""The agent's desk mirrored in the listening room (state sync, not video).

``POST /api/desk/mirror``: the desk page sends its ticket draft and screen state for the
agent's current call (coalesced every ~300 ms while the agent types). ``GET
/api/room/mirror/{agent_id}``: the latest of it, for a supervisor opening the panel mid-call;
``DeskMirror`` events on /ws/events keep it live from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from tingyin.bus.desk import DeskDraft
from tingyin.bus.events import DeskMirror
from tingyin.listening.api import Watcher
from tingyin.listening.mirror import DeskMirrors, mask_phones
from tingyin.listening.permissions import team_members
from tingyin.qa.performance import KpiFileError
from tingyin.store import Database
from tingyin.store.models import AgentProfile, User
from tingyin.tickets.actions import MAX_DESCRIPTION
from tingyin.web.deps import AppSettings, Bus, Context, DbSession, require_roles
from tingyin.web.schemas import NO_CONTROL_CHARS

MAX_BODY_BYTES = 32 * 1024  # a full description (4 000 characters) in UTF-8 and the rest
ON_A_CALL = ("ringing", "on_call")  # wrap-up: the call has ended, its draft with it
CODE = r"^[A-Za-z0-9._-]*$"

router = APIRouter(tags=["listening"])
Agent = Annotated[User, Depends(require_roles("agent"))]


async def desk_mirrors(request: Request) -> DeskMirrors:
    """The app's board, made on first use (on the loop: no two of them) and fed by its bus."""
    board = cast(DeskMirrors | None, getattr(request.app.state, "desk_mirrors", None))
    if board is None:
        board = DeskMirrors()
        board.follow(request.app.state.bus)
        request.app.state.desk_mirrors = board
    return board


Mirrors = Annotated[DeskMirrors, Depends(desk_mirrors)]


class DeskMirrorIn(BaseModel):
    """The desk's state for the agent's current call; every field is replaced each time."""

    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    category: str = Field(default="", max_length=40, pattern=NO_CONTROL_CHARS)
    order_no: str = Field(default="", max_length=40, pattern=CODE)
    responsible_party: str = Field(default="", max_length=24, pattern=NO_CONTROL_CHARS)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    status: Literal["editing", "submitting", "submitted", "failed"] = "editing"
    ticket_number: str = Field(default="", max_length=40, pattern=CODE)
    edited: bool = False
    shown_order_no: str = Field(default="", max_length=40, pattern=CODE)
    viewing: Literal["call", "other_call", "search"] = "call"
    muted: bool = False
    held: bool = False


class DraftOut(BaseModel):
    category: str
    order_no: str
    responsible_party: str
    description: str
    status: str
    ticket_number: str
    edited: bool
    shown_order_no: str
    viewing: str
    muted: bool
    held: bool


class MirrorOut(BaseModel):
    agent_id: int
    call_id: str | None = None  # None: no draft (not on a call, or nothing typed yet)
    at: datetime | None = None
    draft: DraftOut | None = None


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) once past MAX_BODY_BYTES: a draft is small, never buffered big."""
    too_big = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"a desk draft is at most {MAX_BODY_BYTES} bytes"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_big
    return bytes(body)


def _parse(body: bytes) -> DeskMirrorIn:
    try:
        return DeskMirrorIn.model_validate_json(body)
    except ValidationError as exc:  # the app's 422 handler words it like any other body
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def _on_call(db: Database, agent_id: int) -> str | None:
    """The call the agent is on (or offered) now, per their profile."""
    with db.session() as session:
        profile = session.get(AgentProfile, agent_id)
        if profile is None or profile.state not in ON_A_CALL:
            return None
        return profile.current_call_id


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DeskMirrorIn.model_json_schema()}},
    }
}


@router.post(
    "/api/desk/mirror",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=_BODY_DOC,
    responses={409: {"description": "not the agent's current call"}, 413: {}},
)
async def post_mirror(
    request: Request, agent: Agent, context: Context, bus: Bus, mirrors: Mirrors
) -> Response:
    """The agent's desk for their current call: the ticket draft, the order on the card, where
    they look and their softphone's keys. Published to the room as ``DeskMirror``."""
    sent = _parse(await _read_body(request))
    current = await run_in_threadpool(_on_call, context.db, agent.id)
    if current != sent.call_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "that is not your current call")
    fields = sent.model_dump(exclude={"call_id"})
    fields["description"] = mask_phones(sent.description)
    event = DeskMirror(call_id=sent.call_id, agent_id=agent.id, draft=DeskDraft(**fields))
    if not mirrors.keep(event):
        raise HTTPException(status.HTTP_409_CONFLICT, "that call has ended")
    bus.publish(event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/room/mirror/{agent_id}", response_model=MirrorOut)
def get_mirror(
    agent_id: int, watcher: Watcher, session: DbSession, settings: AppSettings, mirrors: Mirrors
) -> MirrorOut:
    """The agent's desk as last sent (``draft`` null when there is none); roles: room's."""
    user = session.get(User, agent_id)
    try:
        team = team_members(watcher, settings)
    except KpiFileError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    if user is None or (team is not None and user.username not in team):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent in your room")
    held = mirrors.latest(agent_id)
    if held is None:
        return MirrorOut(agent_id=agent_id)
    draft = DraftOut.model_validate(held.draft, from_attributes=True)
    return MirrorOut(agent_id=agent_id, call_id=held.call_id, at=held.at, draft=draft)
