"""Complaint analytics over ``report_tickets``: shares by a dimension, the daily trend, the
weekday × hour heat map, and the rows behind a number (tickets with their calls, or calls).

Periods are local days [first, last]: the facts carry their local day, and every cut has a
covering index led by it (or by the store, merchant or rider id), so a year of a busy center
is read from an index, not the table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tingyin.store.models import (
    Call,
    CallContext,
    Merchant,
    ReportTicket,
    Rider,
    Store,
    Ticket,
    TicketCall,
)

DRILL_LIMIT = 200
DIMENSIONS = ("category", "store", "merchant", "rider", "channel", "order_channel", "party")


def _dim_column(dimension: str) -> Any:
    columns: dict[str, Any] = {
        "category": ReportTicket.category,
        "store": ReportTicket.store_id,
        "merchant": ReportTicket.merchant_id,
        "rider": ReportTicket.rider_id,
        "channel": ReportTicket.channel,
        "order_channel": ReportTicket.order_channel,
        "party": ReportTicket.responsible_party,
    }
    if dimension not in columns:
        raise ValueError(f"unknown dimension {dimension!r}; one of {', '.join(DIMENSIONS)}")
    return columns[dimension]


@dataclass(frozen=True)
class Share:
    key: str  # the category code, store id … as text ("" for none)
    label: str  # a name where there is one (store, merchant, rider)
    tickets: int
    share: float


def complaint_shares(
    session: Session,
    first: date,
    last: date,
    dimension: str = "category",
    *,
    limit: int = 20,
    category: str | None = None,
    total: int | None = None,
) -> list[Share]:
    """Tickets opened on local days [first, last] by one dimension, biggest first; ``share``
    of ``total`` (counted here unless given: the caller may know it already)."""
    col = _dim_column(dimension)
    where: list[ColumnElement[bool]] = [ReportTicket.local_day.between(first, last)]
    if category:
        where.append(ReportTicket.category == category)
    if total is None:
        total = session.scalar(select(func.count()).where(*where)) or 0
    n = func.count().label("n")
    rows = session.execute(
        select(col, n).where(*where).group_by(col).order_by(n.desc(), col).limit(limit)
    ).all()
    names = _names(session, dimension, [r[0] for r in rows])
    return [
        Share(
            "" if key is None else str(key),
            names.get(key, ""),
            count,
            count / total if total else 0,
        )
        for key, count in rows
    ]


def _names(session: Session, dimension: str, keys: Sequence[object]) -> dict[object, str]:
    ids = [k for k in keys if isinstance(k, int)]
    if not ids:
        return {}
    if dimension == "store":
        q = select(Store.id, Store.name).where(Store.id.in_(ids))
    elif dimension == "merchant":
        q = select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids))
    elif dimension == "rider":
        q = select(Rider.id, Rider.name).where(Rider.id.in_(ids))
    else:
        return {}
    return {k: v for k, v in session.execute(q).all()}


def complaint_trend(session: Session, first: date, last: date) -> dict[str, list[tuple[date, int]]]:
    """Tickets per local day and category."""
    rows = session.execute(
        select(ReportTicket.category, ReportTicket.local_day, func.count())
        .where(ReportTicket.local_day.between(first, last))
        .group_by(ReportTicket.category, ReportTicket.local_day)
        .order_by(ReportTicket.category, ReportTicket.local_day)
    ).all()
    out: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for category, day, n in rows:
        out[category].append((day, n))
    return dict(out)


def complaint_heatmap(
    session: Session, first: date, last: date, category: str | None = None
) -> list[list[int]]:
    """Tickets by weekday (rows, Monday first) and local hour (columns)."""
    where: list[ColumnElement[bool]] = [ReportTicket.local_day.between(first, last)]
    if category:
        where.append(ReportTicket.category == category)
    grid = [[0] * 24 for _ in range(7)]
    rows = session.execute(
        select(ReportTicket.weekday, ReportTicket.local_hour, func.count())
        .where(*where)
        .group_by(ReportTicket.weekday, ReportTicket.local_hour)
    ).all()
    for weekday, hour, n in rows:
        grid[weekday][hour] = n
    return grid


@dataclass(frozen=True)
class TicketRow:
    id: int
    number: str
    opened_at: datetime
    category: str
    status: str
    priority: str
    channel: str
    order_no: str | None
    store: str
    description: str
    call_ids: list[str]


def drill_tickets(
    session: Session,
    first: date,
    last: date,
    *,
    filters: dict[str, str],
    limit: int = DRILL_LIMIT,
) -> list[TicketRow]:
    """The tickets behind a complaint number: any of the dimensions, plus weekday and hour."""
    where: list[ColumnElement[bool]] = [ReportTicket.local_day.between(first, last)]
    for key, value in filters.items():
        if key in ("weekday", "hour"):
            col = ReportTicket.weekday if key == "weekday" else ReportTicket.local_hour
            where.append(col == int(value))
        elif key in ("store", "merchant", "rider"):
            where.append(_dim_column(key) == int(value))
        elif key == "day":
            where.append(ReportTicket.local_day == date.fromisoformat(value))
        else:
            where.append(_dim_column(key) == value)
    rows = session.execute(
        select(Ticket, Store.name)
        .join(ReportTicket, ReportTicket.ticket_id == Ticket.id)
        .outerjoin(Store, Store.id == ReportTicket.store_id)
        .where(*where)
        # Day first: a store's index range is already in day order, so the newest are found
        # without sorting a big store's whole year.
        .order_by(ReportTicket.local_day.desc(), ReportTicket.opened_at.desc())
        .limit(limit)
    ).all()
    ids = [t.id for t, _ in rows]
    calls: dict[int, list[str]] = defaultdict(list)
    if ids:
        for tid, cid in session.execute(
            select(TicketCall.ticket_id, TicketCall.call_id).where(TicketCall.ticket_id.in_(ids))
        ):
            calls[tid].append(cid)
    return [
        TicketRow(
            t.id,
            t.number,
            t.opened_at,
            t.category,
            t.status,
            t.priority,
            t.channel,
            t.order_no,
            store or "",
            t.description[:200],
            sorted(calls[t.id]),
        )
        for t, store in rows
    ]


@dataclass(frozen=True)
class CallRow:
    id: str
    started_at: datetime
    status: str
    caller: str  # masked
    order_no: str | None
    reason: str


def drill_calls(
    session: Session, since: datetime, until: datetime, *, limit: int = DRILL_LIMIT
) -> list[CallRow]:
    """The calls behind a call figure (started in the window), newest first."""
    from tingyin.privacy import mask_number

    rows = session.execute(
        select(
            Call.id,
            Call.started_at,
            Call.status,
            Call.caller_number,
            CallContext.order_no,
            CallContext.reason,
        )
        .outerjoin(CallContext, CallContext.call_id == Call.id)
        .where(Call.started_at >= since, Call.started_at < until)
        .order_by(Call.started_at.desc())
        .limit(limit)
    ).all()
    return [CallRow(r[0], r[1], r[2], mask_number(r[3] or ""), r[4], r[5] or "") for r in rows]
