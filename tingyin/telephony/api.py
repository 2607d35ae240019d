"""Calls (the CDR) and their recordings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import AwareDatetime

from tingyin.audit.actions import record_audit
from tingyin.config import Settings
from tingyin.store.models import User
from tingyin.telephony.queries import call_events, dtmf_by_call, get_call, list_calls
from tingyin.telephony.schemas import CallDetailOut, CallEventOut, CallOut, CallStatus
from tingyin.web.deps import AppSettings, CurrentUser, DbSession, require_roles
from tingyin.web.schemas import NO_CONTROL_CHARS

log = logging.getLogger(__name__)

router = APIRouter(tags=["calls"])

# Recordings hold customers' voices: agents see the CDR, only these roles may listen.
RECORDING_ROLES = ("supervisor", "qa", "admin")
RecordingListener = Annotated[User, Depends(require_roles(*RECORDING_ROLES))]
# What the listening room flagged on a call (call_events kind "alert"): as web.events.may_see.
ALERT_ROLES = ("supervisor", "qa", "admin")
CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]


def recording_file(settings: Settings, stored: str) -> Path | None:
    """The recording's file, if it exists inside the recordings directory; else None.

    Workers store paths relative to the recordings directory; a row may also hold one relative
    to the data directory, or an absolute one. Whatever the row says, only a regular file under
    ``recordings_dir`` is served: ``..`` and symlinks are resolved before the check.
    """
    root = settings.recordings_dir.resolve()
    stored_path = Path(stored)
    if stored_path.is_absolute():
        candidates = [stored_path]
    else:
        candidates = [settings.recordings_dir / stored_path, settings.data_dir / stored_path]
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
            if resolved.is_relative_to(root) and resolved.is_file():
                return resolved
        except (OSError, ValueError, RuntimeError):  # NUL bytes, symlink loops
            continue
    return None


@router.get("/api/calls", response_model=list[CallOut])
def calls(
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        AwareDatetime | None, Query(description="started before (ISO 8601, with zone)")
    ] = None,
    call_status: Annotated[CallStatus | None, Query(alias="status")] = None,
) -> list[CallOut]:
    """The newest calls first; page back with ``before`` = the last row's ``started_at``."""
    rows = list_calls(session, limit=limit, before=before, status=call_status)
    digits = dtmf_by_call(session, [c.id for c in rows])
    return [
        CallOut.model_validate(c).model_copy(update={"dtmf": digits.get(c.id, "")}) for c in rows
    ]


@router.get(
    "/api/calls/{call_id}",
    response_model=CallDetailOut,
    responses={404: {"description": "No such call"}},
)
def call_detail(call_id: CallId, session: DbSession, user: CurrentUser) -> CallDetailOut:
    """The CDR with its events; the room's alerts only for the roles /ws/events sends them to."""
    call = get_call(session, call_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    rows = call_events(session, call_id)
    if user.role not in ALERT_ROLES:
        rows = [e for e in rows if e.kind != "alert"]
    events = [CallEventOut.model_validate(e) for e in rows]
    dtmf = "".join(str(e.data.get("digit", "")) for e in events if e.kind == "dtmf")
    return CallDetailOut.model_validate(
        {**CallOut.model_validate(call).model_dump(), "dtmf": dtmf, "events": events}
    )


@router.get(
    "/api/calls/{call_id}/recording",
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The stereo WAV (caller left)"},
        403: {"description": "Only supervisors, QA and admins may listen"},
        404: {"description": "No such call, or no recording"},
    },
)
def call_recording(
    call_id: CallId, user: RecordingListener, session: DbSession, settings: AppSettings
) -> FileResponse:
    """The recording as audio/wav; every download is written to the audit log."""
    call = get_call(session, call_id)
    path = recording_file(settings, call.recording_path) if call and call.recording_path else None
    if call is None or path is None:
        if call is not None and call.recording_path:
            log.warning(
                "recording of call %s not served: missing or outside %s",
                call_id,
                settings.recordings_dir,
            )
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no recording for this call")
    record_audit(
        session, user, "recording.download", "call", call_id, {"path": call.recording_path}
    )
    # Committed (DbSession's scope) before the first byte leaves: no unaudited download.
    return FileResponse(
        path, media_type="audio/wav", filename=f"{call_id}.wav", content_disposition_type="inline"
    )
