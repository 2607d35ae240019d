"""``/ws/calls/{id}/audio``: hear a call live (supervisors, QA, admins), audited.

The socket first sends one JSON text message describing the audio, then binary messages of
interleaved stereo PCM (caller left, the other side right; 16-bit little-endian, 8 kHz), about
100 ms each, and finally ``{"type": "ended"}`` when the call ends. Every session is audited:
``call.listen`` when it starts, ``call.listen.end`` (with its length) when it stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any, cast

import numpy as np
from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from tingyin.audit.actions import record_audit
from tingyin.listening.permissions import monitor_refusal
from tingyin.store.models import User
from tingyin.telephony.audio_relay import AudioStream
from tingyin.web.context import AppContext
from tingyin.web.events import SOCKET_GONE, serve_until_done, websocket_login

log = logging.getLogger(__name__)

router = APIRouter()

LISTEN_ROLES = ("supervisor", "qa", "admin")
CLOSE_FORBIDDEN = 4403
CLOSE_NO_CALL = 4404
AUDIO_FORMAT = {
    "type": "format",
    "encoding": "pcm_s16le",
    "rate": 8000,
    "channels": 2,
    "layout": ["caller", "agent"],
}


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono 16-bit buffers of equal length as one stereo buffer (L R L R ...)."""
    stereo = np.empty(len(left) // 2 * 2, dtype="<i2")
    stereo[0::2] = np.frombuffer(left, dtype="<i2")
    stereo[1::2] = np.frombuffer(right, dtype="<i2")
    return stereo.tobytes()


def _audit(
    context: AppContext, user: User, action: str, call_id: str, detail: dict[str, Any]
) -> None:
    with context.db.session() as session:
        record_audit(session, user, action, "call", call_id, detail)


def _refusal(context: AppContext, user: User, call_id: str) -> str | None:
    with context.db.session() as session:
        return monitor_refusal(session, user, call_id, "listen", context.settings)


@router.websocket("/ws/calls/{call_id}/audio")
async def listen(websocket: WebSocket, call_id: str) -> None:
    login = await websocket_login(websocket)
    if login is None:
        return
    user, claims = login
    context = cast(AppContext, websocket.app.state.context)
    await websocket.accept()
    if user.role not in LISTEN_ROLES:
        await websocket.close(CLOSE_FORBIDDEN, "listening needs the supervisor, qa or admin role")
        return
    refusal = await run_in_threadpool(_refusal, context, user, call_id)
    if refusal is not None:  # listening.restrict_to_team: another team's call
        await websocket.close(CLOSE_FORBIDDEN, refusal)
        return
    stream = await context.audio.open(call_id) if context.audio is not None else None
    if stream is None:
        await websocket.close(CLOSE_NO_CALL, "no call in progress with that id")
        return
    started = time.monotonic()
    await run_in_threadpool(_audit, context, user, "call.listen", call_id, {"mode": "listen"})
    try:
        await websocket.send_text(json.dumps(AUDIO_FORMAT))
        await serve_until_done(websocket, _send_audio(websocket, stream), claims.expires_at)
    except SOCKET_GONE:
        pass
    finally:
        assert context.audio is not None
        await context.audio.close(stream)
        detail = {"seconds": round(time.monotonic() - started, 1), "dropped": stream.dropped}
        await run_in_threadpool(_audit, context, user, "call.listen.end", call_id, detail)


async def _send_audio(websocket: WebSocket, stream: AudioStream) -> None:
    while (chunk := await stream.get()) is not None:
        try:
            await websocket.send_bytes(interleave(*chunk))
        except SOCKET_GONE:
            return
    with contextlib.suppress(*SOCKET_GONE):
        await websocket.send_text(json.dumps({"type": "ended"}))
