"""Reads of stored screen pops."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from tingyin.bus.codec import EventDecodeError, decode_event
from tingyin.bus.events import CallerContextReady
from tingyin.store.models import CallContext


def stored_context(session: Session, call_id: str) -> CallerContextReady | None:
    row = session.get(CallContext, call_id)
    if row is None:
        return None
    try:
        event = decode_event(json.dumps(row.payload, ensure_ascii=False))
    except EventDecodeError:
        return None  # written by an older version with another shape
    return event if isinstance(event, CallerContextReady) else None
