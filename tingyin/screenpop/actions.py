"""Keeps each call's screen pop (its latest revision) beside the call record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tingyin.bus.codec import event_to_dict
from tingyin.bus.events import CallerContextReady
from tingyin.store.models import Call, CallContext


def store_context(session: Session, event: CallerContextReady) -> None:
    if session.get(Call, event.call_id) is None:
        return  # a search result, or a call the store never saw: nothing to attach it to
    row = session.get(CallContext, event.call_id)
    if row is not None and row.revision > event.revision:
        return
    if row is None:
        row = CallContext(call_id=event.call_id)
        session.add(row)
    row.revision = event.revision
    row.caller_kind = event.caller_kind
    row.order_no = event.orders[0].order_no if event.orders else None
    row.reason = event.suggestion.reason if event.suggestion is not None else ""
    row.payload = event_to_dict(event)
    row.built_at = event.at
