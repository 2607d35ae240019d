"""``/ws/softphone``: the desk page's softphone, signalling over one websocket.

Page → hub (JSON): ``{"type": "offer", "sdp"}`` first (answered with ``{"type": "answer",
"sdp"}``), then ``answer_call``, ``hangup``, ``mute`` / ``hold`` with ``on``, ``dtmf`` with
``digits``. Hub → page: ``{"type": "state", "state", "call_id", "muted"}`` whenever the call
changes, ``{"type": "error", "message"}`` for a refused request. Closing the socket unplugs the
headset: the agent is no longer offered calls, and a call in progress loses its agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, cast

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from tingyin.audit.actions import record_audit
from tingyin.listening.permissions import monitor_refusal
from tingyin.softphone.service import Session, SoftphoneError, SoftphoneService
from tingyin.store.models import User
from tingyin.web.context import AppContext
from tingyin.web.events import SOCKET_GONE, websocket_login

log = logging.getLogger(__name__)

router = APIRouter()

SOFTPHONE_ROLES = ("agent", "supervisor", "qa", "admin")
CLOSE_FORBIDDEN = 4403
CLOSE_UNAVAILABLE = 4503
MAX_MESSAGE = 64 * 1024  # an SDP offer is a few kB
DTMF_KEYS = set("0123456789*#")


@router.websocket("/ws/softphone")
async def softphone(websocket: WebSocket) -> None:
    login = await websocket_login(websocket)
    if login is None:
        return
    user, _claims = login
    service = cast(AppContext, websocket.app.state.context).softphones
    if user.role not in SOFTPHONE_ROLES:
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    if service is None:
        await websocket.close(code=CLOSE_UNAVAILABLE)
        return
    await websocket.accept()
    lock = asyncio.Lock()

    async def to_page(message: dict[str, Any]) -> None:
        async with lock:
            with contextlib.suppress(*SOCKET_GONE):
                await websocket.send_text(json.dumps(message))

    session: Session | None = None
    context = cast(AppContext, websocket.app.state.context)
    watch = Watch(context, user)
    try:
        while True:
            text = await websocket.receive_text()
            try:
                message = _parse(text)
                if session is None:
                    if message.get("type") != "offer" or not isinstance(message.get("sdp"), str):
                        raise SoftphoneError("the first message must be an offer with its sdp")
                    session, answer = await service.open(user.id, message["sdp"], to_page)
                    await to_page({"type": "answer", "sdp": answer})
                    await to_page(session.view())
                elif message.get("type") == "monitor":
                    await watch.monitor(service, session, message)
                else:
                    await _act(service, session, message)
                    if message.get("type") == "hangup":
                        await watch.ended()
            except SoftphoneError as exc:
                await to_page({"type": "error", "message": str(exc)})
    except SOCKET_GONE:
        pass
    finally:
        if session is not None:
            await service.close(session)
        await watch.ended()


class Watch:
    """A supervisor's listen / whisper / barge on one call, for the audit log."""

    def __init__(self, context: AppContext, user: User) -> None:
        self.context = context
        self.user = user
        self.call_id: str | None = None
        self.started = 0.0
        self.modes: list[str] = []

    async def monitor(
        self, service: SoftphoneService, session: Session, message: dict[str, Any]
    ) -> None:
        call_id, mode = str(message.get("call_id", "")), str(message.get("mode", "listen"))
        refusal = await run_in_threadpool(self._refusal, call_id, mode)
        if refusal is not None:
            raise SoftphoneError(refusal)
        if self.call_id not in (None, call_id):
            await self.ended()
        await service.monitor(session, call_id, mode)
        if self.call_id is None:
            self.call_id, self.started, self.modes = call_id, time.monotonic(), []
        self.modes.append(mode)
        await self._audit("call.monitor", {"mode": mode})

    def _refusal(self, call_id: str, mode: str) -> str | None:
        with self.context.db.session() as db_session:
            return monitor_refusal(db_session, self.user, call_id, mode, self.context.settings)

    async def ended(self) -> None:
        if self.call_id is None:
            return
        seconds = round(time.monotonic() - self.started, 1)
        await self._audit("call.monitor.end", {"seconds": seconds, "modes": self.modes})
        self.call_id = None

    async def _audit(self, action: str, detail: dict[str, Any]) -> None:
        call_id = self.call_id or ""

        def write() -> None:
            with self.context.db.session() as db_session:
                record_audit(db_session, self.user, action, "call", call_id, detail)

        await run_in_threadpool(write)


def _parse(text: str) -> dict[str, Any]:
    if len(text) > MAX_MESSAGE:
        raise SoftphoneError("message too long")
    try:
        message = json.loads(text)
    except ValueError:
        raise SoftphoneError("not JSON") from None
    if not isinstance(message, dict):
        raise SoftphoneError("not a JSON object")
    return message


async def _act(service: SoftphoneService, session: Session, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == "answer_call":
        await service.answer(session)
    elif kind == "hangup":
        await service.hangup(session)
    elif kind == "mute":
        await service.mute(session, bool(message.get("on")))
    elif kind == "hold":
        await service.hold(session, bool(message.get("on")))
    elif kind == "dtmf":
        digits = str(message.get("digits", ""))
        if not digits or len(digits) > 32 or not set(digits) <= DTMF_KEYS:
            raise SoftphoneError("digits must be 1–32 of 0-9 * #")
        await service.dtmf(session, digits)
    else:
        raise SoftphoneError(f"unknown message type {kind!r}")
