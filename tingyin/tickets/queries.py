"""Reading tickets: the calls linked to one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.store.models import Call, TicketCall


def linked_calls(session: Session, ticket_id: int) -> list[Call]:
    """The ticket's calls, oldest first (the order they happened in)."""
    query = (
        select(Call)
        .join(TicketCall, TicketCall.call_id == Call.id)
        .where(TicketCall.ticket_id == ticket_id)
        .order_by(Call.started_at, Call.id)
    )
    return list(session.scalars(query))
