"""The built-in order source: the SQL tables filled by ``tingyin seed`` or an import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from tingyin.bus.context import ItemView, TimelineStep
from tingyin.screenpop.sources import Binding, OrderRecord, Party, RiderPing, SourceError
from tingyin.store import Database
from tingyin.store.models import Customer, Merchant, NumberBinding, Order, Rider, Store

_LOADED = (
    selectinload(Order.items),
    selectinload(Order.events),
    selectinload(Order.customer),
    selectinload(Order.store).selectinload(Store.merchant),
    selectinload(Order.rider),
)


class SqlOrderSource:
    name = "sql"

    def __init__(self, db: Database) -> None:
        self.db = db

    def parties(self, phone: str) -> list[Party]:
        if not phone:
            return []
        with self._session() as session:
            found = [
                _customer(c)
                for c in session.scalars(select(Customer).where(Customer.phone == phone).limit(5))
            ]
            found += [
                Party(kind="rider", id=str(r.id), name=r.name, phone=r.phone)
                for r in session.scalars(select(Rider).where(Rider.phone == phone).limit(5))
            ]
            stores = session.scalars(
                select(Store)
                .join(Store.merchant)
                .where(or_(Store.phone == phone, Merchant.phone == phone))
                .options(selectinload(Store.merchant))
                .limit(20)
            ).all()
            found += [
                Party(
                    kind="merchant",
                    id=str(s.id),
                    name=f"{s.merchant.name}（{s.name}）",
                    phone=phone,
                )
                for s in stores
            ]
            return found

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        column = {
            "customer": Order.customer_id,
            "rider": Order.rider_id,
            "merchant": Order.store_id,
        }.get(party.kind)
        if column is None or not party.id.isdigit():
            return []
        query = (
            select(Order)
            .where(column == int(party.id), Order.placed_at >= since)
            .order_by(Order.placed_at.desc())
            .limit(limit)
            .options(*_LOADED)
        )
        with self._session() as session:
            return [to_record(order) for order in session.scalars(query)]

    def order(self, order_no: str) -> OrderRecord | None:
        with self._session() as session:
            order = session.scalars(
                select(Order).where(Order.order_no == order_no).options(*_LOADED)
            ).first()
            return to_record(order) if order is not None else None

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        if not virtual_number:
            return None
        query = (
            select(NumberBinding, Order.order_no)
            .join(Order, Order.id == NumberBinding.order_id)
            .where(
                NumberBinding.virtual_number == virtual_number,
                NumberBinding.valid_from <= at,
                NumberBinding.valid_until > at,
            )
            .order_by(NumberBinding.valid_from.desc())
            .limit(1)
        )
        with self._session() as session:
            row = session.execute(query).first()
            if row is None:
                return None
            bound, order_no = row
            return Binding(
                virtual_number=bound.virtual_number,
                order_no=order_no,
                party=bound.party,
                valid_until=bound.valid_until,
            )

    def _session(self) -> _Reading:
        return _Reading(self.db)


class _Reading:
    """A read-only session whose database errors become SourceError."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: Session | None = None

    def __enter__(self) -> Session:
        self.session = self.db.sessions()
        return self.session

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if self.session is not None:
            self.session.close()
        if isinstance(exc, SQLAlchemyError):
            raise SourceError(f"order database: {type(exc).__name__}: {exc}") from exc


def _customer(row: Customer) -> Party:
    return Party(
        kind="customer",
        id=str(row.id),
        name=row.name,
        phone=row.phone,
        vip=row.vip,
        complaints_90d=row.complaints_90d,
        registered_at=row.registered_at,
    )


def to_record(order: Order) -> OrderRecord:
    timeline: list[TimelineStep] = []
    pings: list[RiderPing] = []
    for event in order.events:
        if event.kind == "rider_position":
            try:
                lat, lng = float(event.data["lat"]), float(event.data["lng"])
            except (KeyError, TypeError, ValueError):
                continue  # a malformed ping is no position at all
            pings.append(RiderPing(at=event.at, lat=lat, lng=lng))
        else:
            timeline.append(
                TimelineStep(at=event.at, kind=event.kind, actor=event.actor, note=event.note)
            )
    return OrderRecord(
        order_no=order.order_no,
        channel=order.channel,
        status=order.status,
        customer_id=str(order.customer_id),
        customer_name=order.customer.name,
        customer_phone=order.customer.phone,
        merchant=order.store.merchant.name,
        store=order.store.name,
        store_id=str(order.store_id),
        rider=order.rider.name if order.rider is not None else "",
        rider_id=str(order.rider_id or ""),
        amount_fen=order.amount_fen,
        address=order.delivery_address,
        remarks=order.remarks,
        placed_at=order.placed_at,
        promised_at=order.promised_at,
        delivered_at=order.delivered_at,
        items=tuple(
            ItemView(name=i.name, quantity=i.quantity, unit_price_fen=i.unit_price_fen, spec=i.spec)
            for i in order.items
        ),
        timeline=_sorted(timeline),
        rider_pings=tuple(sorted(pings, key=lambda p: p.at)),
    )


def _sorted(steps: Sequence[TimelineStep]) -> tuple[TimelineStep, ...]:
    return tuple(sorted(steps, key=lambda s: s.at))
