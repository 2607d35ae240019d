"""A call's transcript: JSON, or plain text / SRT / WebVTT with ``format=``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse, Response

from tingyin.asr.formats import as_srt, as_text, as_vtt
from tingyin.asr.queries import leg_statuses, segments
from tingyin.asr.schemas import LegStatusOut, SegmentOut, TranscriptOut
from tingyin.store.models import Call
from tingyin.web.deps import AppSettings, DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["transcripts"])

CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
LABELS = {
    "zh": {"caller": "客户", "system": "系统", "agent": "坐席"},
    "en": {"caller": "Caller", "system": "System", "agent": "Agent"},
}
MEDIA_TYPES = {"text": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}


@router.get(
    "/api/calls/{call_id}/transcript",
    response_model=TranscriptOut,
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
        404: {"description": "No such call"},
    },
)
def transcript(
    call_id: CallId,
    session: DbSession,
    settings: AppSettings,
    format: Annotated[Literal["json", "text", "srt", "vtt"], Query()] = "json",
    lang: Annotated[Literal["zh", "en"] | None, Query()] = None,
) -> TranscriptOut | Response:
    """Every stored utterance of both legs in time order; each leg's status says if more is due."""
    if session.get(Call, call_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    rows = segments(session, call_id)
    if format != "json":
        labels = LABELS[lang or settings.language]
        render = {"text": as_text, "srt": as_srt, "vtt": as_vtt}[format]
        return PlainTextResponse(
            render(rows, labels), media_type=f"{MEDIA_TYPES[format]}; charset=utf-8"
        )
    return TranscriptOut(
        call_id=call_id,
        legs=[LegStatusOut.model_validate(r) for r in leg_statuses(session, call_id)],
        segments=[SegmentOut.model_validate(r) for r in rows],
    )
