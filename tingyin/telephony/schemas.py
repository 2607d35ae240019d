from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# Every value tingyin.telephony.actions writes to Call.status.
CallStatus = Literal["ringing", "answered", "ended", "missed", "failed"]


class CallOut(BaseModel):
    """One CDR row."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    sip_call_id: str
    direction: str
    caller_number: str
    dialed_number: str
    worker: int
    status: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    sip_status: int | None
    codec: str | None
    recording_path: str | None
    recording_seconds: float | None
    legs: list[dict[str, Any]]
    dtmf: str = ""  # the digits the caller pressed, in order


class CallEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str  # "dtmf" for now (data: digit, method); the IVR path later
    data: dict[str, Any]


class CallDetailOut(CallOut):
    events: list[CallEventOut]
