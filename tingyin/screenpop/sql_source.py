"""The built-in order source: the SQL tables filled by ``tingyin seed`` or an import.

Read with Core statements, not ORM objects: a screen pop reads a dozen orders with their items
and timelines while the phone rings, and building ORM objects (identity map, relationship
loaders) cost four times the queries themselves (``bench/screenpop.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from tingyin.bus.context import ItemView, TimelineStep
from tingyin.screenpop.sources import Binding, OrderRecord, Party, RiderPing, SourceError
from tingyin.store import Database
from tingyin.store.models import (
    Customer,
    Merchant,
    NumberBinding,
    Order,
    OrderEvent,
    OrderItem,
    Rider,
    Store,
)

_ORDER_COLUMNS = select(
    Order.id,
    Order.order_no,
    Order.channel,
    Order.status,
    Order.customer_id,
    Customer.name.label("customer_name"),
    Customer.phone.label("customer_phone"),
    Merchant.name.label("merchant"),
    Store.name.label("store"),
    Order.store_id,
    Rider.name.label("rider"),
    Order.rider_id,
    Order.amount_fen,
    Order.delivery_address,
    Order.remarks,
    Order.placed_at,
    Order.promised_at,
    Order.delivered_at,
).select_from(
    Order.__table__.join(Customer.__table__, Customer.id == Order.customer_id)
    .join(Store.__table__, Store.id == Order.store_id)
    .join(Merchant.__table__, Merchant.id == Store.merchant_id)
    .outerjoin(Rider.__table__, Rider.id == Order.rider_id)
)
_CUSTOMER_COLUMNS = select(
    Customer.id, Customer.name, Customer.phone, Customer.vip, Customer.complaints_90d,
    Customer.registered_at,
)  # fmt: skip
_STORE_COLUMNS = select(Store.id, Store.name, Merchant.name.label("merchant")).join(
    Merchant, Merchant.id == Store.merchant_id
)

# Built once with bound parameters: building the expressions per lookup cost more than running
# them.
_CUSTOMERS_BY_PHONE = _CUSTOMER_COLUMNS.where(Customer.phone == bindparam("phone")).limit(5)
_RIDERS_BY_PHONE = select(Rider.id, Rider.name).where(Rider.phone == bindparam("phone")).limit(5)
_STORES_BY_PHONE = _STORE_COLUMNS.where(Store.phone == bindparam("phone")).limit(20)
_STORES_OF_MERCHANT_PHONE = _STORE_COLUMNS.where(
    Store.merchant_id.in_(select(Merchant.id).where(Merchant.phone == bindparam("phone")))
).limit(20)


def _orders_by(column: Any) -> Select[*tuple[Any, ...]]:
    return (
        _ORDER_COLUMNS.where(column == bindparam("party"), Order.placed_at >= bindparam("since"))
        .order_by(Order.placed_at.desc())
        .limit(bindparam("limit"))
    )


_ORDERS_OF = {
    "customer": _orders_by(Order.customer_id),
    "rider": _orders_by(Order.rider_id),
    "merchant": _orders_by(Order.store_id),
}
_ORDER_BY_NO = _ORDER_COLUMNS.where(Order.order_no == bindparam("order_no"))
_ITEMS_OF = (
    select(OrderItem.order_id, OrderItem.name, OrderItem.quantity, OrderItem.unit_price_fen,
           OrderItem.spec)
    .where(OrderItem.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(OrderItem.id)
)  # fmt: skip
_EVENTS_OF = (
    select(OrderEvent.order_id, OrderEvent.at, OrderEvent.kind, OrderEvent.actor,
           OrderEvent.note, OrderEvent.data)
    .where(OrderEvent.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(OrderEvent.at, OrderEvent.id)
)  # fmt: skip
_BINDING = (
    select(NumberBinding.party, NumberBinding.valid_until, Order.order_no)
    .join(Order, Order.id == NumberBinding.order_id)
    .where(
        NumberBinding.virtual_number == bindparam("number"),
        NumberBinding.valid_from <= bindparam("at"),
        NumberBinding.valid_until > bindparam("at"),
    )
    .order_by(NumberBinding.valid_from.desc())
    .limit(1)
)


class SqlOrderSource:
    name = "sql"

    def __init__(self, db: Database) -> None:
        self.db = db

    def parties(self, phone: str) -> list[Party]:
        if not phone:
            return []
        with self._reading() as conn:
            by = {"phone": phone}
            found = [_customer(row) for row in conn.execute(_CUSTOMERS_BY_PHONE, by)]
            found += [
                Party(kind="rider", id=str(r.id), name=r.name, phone=phone)
                for r in conn.execute(_RIDERS_BY_PHONE, by)
            ]
            # A store's own line, or the merchant's head-office number (all its stores).
            stores = list(conn.execute(_STORES_BY_PHONE, by))
            if not stores:
                stores = list(conn.execute(_STORES_OF_MERCHANT_PHONE, by))
            found += [
                Party(kind="merchant", id=str(s.id), name=f"{s.merchant}（{s.name}）", phone=phone)
                for s in stores
            ]  # fmt: skip
            return found

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        query = _ORDERS_OF.get(party.kind)
        if query is None or not party.id.isdigit():
            return []
        with self._reading() as conn:
            params = {"party": int(party.id), "since": since, "limit": limit}
            return _records(conn, list(conn.execute(query, params)))

    def order(self, order_no: str) -> OrderRecord | None:
        with self._reading() as conn:
            rows = list(conn.execute(_ORDER_BY_NO, {"order_no": order_no}))
            records = _records(conn, rows)
            return records[0] if records else None

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        if not virtual_number:
            return None
        with self._reading() as conn:
            row = conn.execute(_BINDING, {"number": virtual_number, "at": at}).first()
        if row is None:
            return None
        return Binding(
            virtual_number=virtual_number,
            order_no=row.order_no,
            party=row.party,
            valid_until=row.valid_until,
        )

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A pooled connection; database errors become SourceError."""
        try:
            with self.db.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise SourceError(f"order database: {type(exc).__name__}: {exc}") from exc


def _customer(row: Row[*tuple[Any, ...]]) -> Party:
    return Party(
        kind="customer",
        id=str(row.id),
        name=row.name,
        phone=row.phone,
        vip=bool(row.vip),
        complaints_90d=row.complaints_90d,
        registered_at=row.registered_at,
    )


def _records(conn: Connection, rows: Sequence[Row[*tuple[Any, ...]]]) -> list[OrderRecord]:
    """The orders of ``rows`` with their items and timelines (two more queries in all)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    items: dict[int, list[ItemView]] = defaultdict(list)
    for i in conn.execute(_ITEMS_OF, {"ids": ids}):
        items[i.order_id].append(
            ItemView(name=i.name, quantity=i.quantity, unit_price_fen=i.unit_price_fen, spec=i.spec)
        )
    steps: dict[int, list[TimelineStep]] = defaultdict(list)
    pings: dict[int, list[RiderPing]] = defaultdict(list)
    for e in conn.execute(_EVENTS_OF, {"ids": ids}):
        if e.kind != "rider_position":
            steps[e.order_id].append(TimelineStep(at=e.at, kind=e.kind, actor=e.actor, note=e.note))
            continue
        try:
            lat, lng = float(e.data["lat"]), float(e.data["lng"])
        except (KeyError, TypeError, ValueError):
            continue  # a malformed ping is no position at all
        pings[e.order_id].append(RiderPing(at=e.at, lat=lat, lng=lng))
    return [
        OrderRecord(
            order_no=row.order_no,
            channel=row.channel,
            status=row.status,
            customer_id=str(row.customer_id),
            customer_name=row.customer_name,
            customer_phone=row.customer_phone,
            merchant=row.merchant,
            store=row.store,
            store_id=str(row.store_id),
            rider=row.rider or "",
            rider_id=str(row.rider_id or ""),
            amount_fen=row.amount_fen,
            address=row.delivery_address,
            remarks=row.remarks,
            placed_at=row.placed_at,
            promised_at=row.promised_at,
            delivered_at=row.delivered_at,
            items=tuple(items[row.id]),
            timeline=tuple(steps[row.id]),
            rider_pings=tuple(pings[row.id]),
        )
        for row in rows
    ]
