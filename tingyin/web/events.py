"""``/ws/events``: bus events, as JSON, to the browsers allowed to see them.

Each connection has a bounded outbox between the bus and its socket. The bus handler only
drops an event into it (dropping the oldest when full), so a slow or stalled browser never
holds up the bus or the other browsers. With ``listening.restrict_to_team`` a supervisor's or
QA user's connection also has a ``TeamFilter``: only their teams' agents and calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from tingyin.bus import EventBus
from tingyin.bus.codec import event_to_dict
from tingyin.bus.events import (
    AgentStateChanged,
    CallAlert,
    CallEvent,
    DeskMirror,
    Event,
    MonitorLeg,
    OutboundRequested,
    OutsideTransferRequested,
    PartyRequested,
    SupervisorPhone,
    TicketSlaAlert,
    utcnow,
)
from tingyin.listening.team_filter import TEAM_ROLES, RoomTeam, TeamFilter, room_team
from tingyin.qa.performance import KpiFileError
from tingyin.store.models import User
from tingyin.web.auth import COOKIE_NAME, TokenClaims, read_token, token_from
from tingyin.web.context import AppContext
from tingyin.web.deps import authenticate_token

log = logging.getLogger(__name__)

router = APIRouter()

OUTBOX_SIZE = 256
CLOSE_NOT_LOGGED_IN = 4401  # 4000–4999 are the application's; 4401 mirrors HTTP 401
CLOSE_UNAVAILABLE = 4503  # the team file is broken: as /api/room's 503
TEAM_FILE_BROKEN = "the team list cannot be read; ask an admin"
SOCKET_GONE = (WebSocketDisconnect, RuntimeError, OSError)  # what a send to a closed socket raises


def may_see(role: str, event: Event) -> bool:
    """Whether a user of this role receives this event: the one place to narrow it later."""
    if isinstance(
        event, OutboundRequested | PartyRequested | OutsideTransferRequested | SupervisorPhone
    ):
        return False  # full numbers: hub-internal
    # The room's: who listens in, what it flags, the agents' desks as they type.
    if isinstance(event, MonitorLeg | CallAlert | DeskMirror):
        return role in ("supervisor", "qa", "admin")
    if isinstance(event, CallEvent | TicketSlaAlert | AgentStateChanged):  # every staff role
        return True
    return role in ("supervisor", "admin")  # worker start/exit: operations, not agents


class Outbox:
    """Bounded, drop-oldest queue of events for one connection."""

    def __init__(self, size: int = OUTBOX_SIZE) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.dropped = 0
        self._loop = asyncio.get_running_loop()

    def offer(self, event: Event) -> None:
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._put(event)
        else:  # a bus running on another loop or thread
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin; refuse a page from another origin riding the login cookie."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def websocket_login(websocket: WebSocket) -> tuple[User, TokenClaims] | None:
    """The socket's user and token claims; None (socket refused) without a valid login."""
    context = cast(AppContext, websocket.app.state.context)
    token = token_from(websocket, allow_query=True)
    from_cookie = token is not None and token == websocket.cookies.get(COOKIE_NAME)
    claims = read_token(context.secret_key, token) if token else None
    user = await run_in_threadpool(authenticate_token, context, token) if claims else None
    if user is None or claims is None or (from_cookie and not _same_origin(websocket)):
        # Before accept: the server answers the handshake with HTTP 403.
        await websocket.close(code=CLOSE_NOT_LOGGED_IN)
        return None
    return user, claims


@router.websocket("/ws/events")
async def events(websocket: WebSocket) -> None:
    login = await websocket_login(websocket)
    if login is None:
        return
    user, claims = login
    role = user.role
    outbox = Outbox()
    restricted = cast(AppContext, websocket.app.state.context).settings.listening.restrict_to_team
    # Holds events back until its team is read; None: today's events, by role only.
    team = TeamFilter() if restricted and role in TEAM_ROLES else None

    async def deliver(event: Event) -> None:
        if not may_see(role, event):
            return
        kept = event if team is None else team.admit(event)
        if kept is not None:
            outbox.offer(kept)

    # Subscribed before accept, so nothing published after the handshake is missed.
    unsubscribe = cast(EventBus, websocket.app.state.bus).subscribe(Event, deliver)
    try:
        if team is not None:
            # Read after subscribing: no agent's move between the read and the first event.
            try:
                members = await run_in_threadpool(_room_team, websocket, user)
            except KpiFileError as exc:  # restricted: refuse, never open (as /api/room's 503)
                log.warning("events socket of user %s refused: %s", user.id, exc)
                await websocket.accept()  # a close frame's reason is short (123 bytes): no path
                await websocket.close(CLOSE_UNAVAILABLE, TEAM_FILE_BROKEN)
                return
            for event in team.start(members):  # no await since the read: nothing slips by
                outbox.offer(event)
        await websocket.accept()
        await _serve(websocket, outbox, claims.expires_at)
    except SOCKET_GONE:
        pass
    finally:
        unsubscribe()
        if outbox.dropped:
            log.warning("websocket of user %s dropped %d events", user.id, outbox.dropped)


def _room_team(websocket: WebSocket, user: User) -> RoomTeam | None:
    context = cast(AppContext, websocket.app.state.context)
    with context.db.session() as session:
        return room_team(session, user, context.settings)


async def _serve(websocket: WebSocket, outbox: Outbox, expires_at: datetime) -> None:
    await serve_until_done(websocket, send_events(websocket, outbox), expires_at)


async def serve_until_done(
    websocket: WebSocket, send: Coroutine[Any, Any, None], expires_at: datetime
) -> None:
    """Run ``send`` until it returns, the browser leaves, or the login expires; then close."""
    sender = asyncio.create_task(send)
    receiver = asyncio.create_task(until_disconnect(websocket))
    # The socket must not outlive the login: close it when the token expires.
    seconds_left = max(0.0, (expires_at - utcnow()).total_seconds())
    done, pending = await asyncio.wait(
        {sender, receiver}, timeout=seconds_left, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    if pending:
        # wait, not gather: gather would turn a server-side cancellation of this task into
        # a bare CancelledError that anyio's cancel scopes no longer recognise as theirs.
        await asyncio.wait(pending)
    with contextlib.suppress(*SOCKET_GONE):
        await websocket.close(code=1000 if done else CLOSE_NOT_LOGGED_IN)


async def until_disconnect(websocket: WebSocket) -> None:
    """Return when the browser leaves (reading is the only way to learn it); input is ignored."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def send_events(websocket: WebSocket, outbox: Outbox) -> None:
    """Send the outbox's events as JSON until the socket is gone (never raises for that)."""
    reported = 0
    while True:
        event = await outbox.queue.get()
        try:
            if outbox.dropped > reported:
                # Tell the page it missed events, so it reloads instead of showing stale rows.
                reported = outbox.dropped
                await websocket.send_text(json.dumps({"type": "dropped", "count": reported}))
            await websocket.send_text(json.dumps(event_to_dict(event), ensure_ascii=False))
        except SOCKET_GONE:
            return
