"""Orders from a platform's export (CSV or JSON) into the order tables.

JSON: a list of orders (or ``{"orders": [...]}``), each a flat object with the parties inline::

    {"order_no": "2611230000000001",          digits only (callers type it on a keypad)
     "channel": "meituan",                    meituan | eleme | miniprogram | douyin | phone
     "status": "delivered",                   optional: the timeline's last status otherwise
     "customer_phone": "138 1234 5678",       any spelling; customers are found by it
     "customer_name": "王芳", "customer_vip": false,
     "merchant": "老乡鸡", "merchant_phone": "4008123456",
     "store": "老乡鸡（望京店）", "store_phone": "010-6234-5678", "store_address": "…",
     "rider_name": "赵磊", "rider_phone": "13800000008", "rider_team": "望京一站",
     "amount_fen": 3280,                      optional: the items' sum otherwise
     "delivery_address": "…", "remarks": "不要香菜",
     "placed_at": "2026-11-23T11:00:00+08:00", "promised_at": "…", "delivered_at": "…",
     "items": [{"name": "宫保鸡丁", "quantity": 1, "unit_price_fen": 2800, "spec": "微辣"}],
     "timeline": [{"kind": "placed", "at": "…", "actor": "customer", "note": "", "data": {}}]}

Required: order_no, channel, customer_phone, merchant, store, placed_at, promised_at and, for
an order not seen before, at least one item. Money is in fen. Times without a zone are read in
the configured time zone.

CSV: one row per order, the same names as columns; ``items`` as ``宫保鸡丁(微辣)x1@2800;米饭x2@200``
(name, optional spec in brackets, quantity, unit price in fen) and ``timeline`` (optional) as
``placed@2026-11-23T11:00:00+08:00;cancelled:rider@2026-11-23T11:20:00+08:00`` (kind, optional
actor, time). Rows are numbered from 1, the first order after the header.

Customers and riders are found by phone number (``tingyin.phones.lookup_key``), stores by phone
or else by merchant and name, merchants by phone or else by name; missing ones are created and
names that changed are updated. An order number that exists already updates that order: new
timeline steps are appended (a step already stored, same kind and time, is not added twice), the
status follows and a newly given rider is taken; its customer, store and items stay as first
imported. A row with an error is skipped and reported by row and field.

An order's status and delivery time come from its timeline. When a row gives a status but no
timeline, a step for that status is added at ``delivered_at`` (delivered) or else at the latest
time known for the order; a status that contradicts the row's timeline is an error.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.audit.actions import record_audit
from tingyin.phones import lookup_key
from tingyin.store import Database
from tingyin.store.models import Customer, Merchant, Order, OrderEvent, OrderItem, Rider, Store
from tingyin.store.models.orders import ORDER_CHANNELS, ORDER_EVENT_KINDS, ORDER_STATUSES, PARTIES

FORMATS = ("csv", "json")
CHANNEL_NAMES = {"美团": "meituan", "饿了么": "eleme", "小程序": "miniprogram", "抖音": "douyin"}
CHANNEL_NAMES["电话"] = "phone"
DEFAULT_ACTORS = {
    "placed": "customer",
    "accepted": "merchant",
    "ready": "merchant",
    "refund_requested": "customer",
    "refunded": "platform",
    "cancelled": "platform",
    "remark": "platform",
}  # the rest: rider
RANK = {kind: i for i, kind in enumerate(ORDER_STATUSES)}  # orders steps at the same time
ITEM = re.compile(
    r"^(?P<name>.+?)\s*(?:[(（](?P<spec>[^)）]*)[)）])?\s*[x×X*]\s*(?P<qty>\d+)\s*@\s*(?P<price>\d+)$"
)
TRUE = {"1", "true", "yes", "y", "是", "vip"}
FALSE = {"", "0", "false", "no", "n", "否"}


class ImportFormatError(Exception):
    """The file as a whole cannot be read (unknown format, not JSON, not a list of orders)."""


@dataclass(frozen=True)
class ImportReport:
    imported: int  # rows written: new orders and updates
    updated: int  # of those, orders that existed already
    skipped: int  # rows refused, each with at least one line in ``errors``
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Item:
    name: str
    quantity: int
    unit_price_fen: int
    spec: str = ""

    def model(self) -> OrderItem:
        price = self.unit_price_fen
        return OrderItem(
            name=self.name, quantity=self.quantity, unit_price_fen=price, spec=self.spec
        )


@dataclass(frozen=True)
class _Step:
    at: datetime
    kind: str
    actor: str
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, datetime]:
        return self.kind, self.at


@dataclass(frozen=True, kw_only=True)
class _Row:
    order_no: str
    channel: str
    status: str
    customer_phone: str  # lookup keys, from here on
    customer_name: str
    customer_vip: bool | None
    merchant: str
    merchant_phone: str
    store: str
    store_phone: str
    store_address: str
    rider_name: str
    rider_phone: str
    rider_team: str
    amount_fen: int | None
    delivery_address: str
    remarks: str
    placed_at: datetime
    promised_at: datetime
    delivered_at: datetime | None
    items: tuple[_Item, ...]
    timeline: tuple[_Step, ...]


class _RowError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def import_orders(
    db: Database, path: Path, *, tz: ZoneInfo, fmt: str | None = None
) -> ImportReport:
    """Import a CSV or JSON export; ``fmt`` defaults to the file's suffix."""
    return import_records(db, read_records(path, fmt), tz=tz, source=path.name)


def read_records(path: Path, fmt: str | None = None) -> list[dict[str, Any]]:
    """The file's orders as raw mappings, not yet checked."""
    fmt = (fmt or path.suffix.removeprefix(".")).lower()
    if fmt not in FORMATS:
        raise ImportFormatError(f"{path.name}: unknown format {fmt!r}; use csv or json")
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "csv":
        return [dict(row) for row in csv.DictReader(text.splitlines())]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path.name}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]
    if not isinstance(data, list):
        raise ImportFormatError(f"{path.name}: expected a list of orders")
    return [row if isinstance(row, dict) else {"": row} for row in data]


def import_records(
    db: Database, records: Iterable[Mapping[str, Any]], *, tz: ZoneInfo, source: str = ""
) -> ImportReport:
    """Import orders given as raw mappings (as ``read_records`` returns them)."""
    imported = updated = skipped = 0
    errors: list[str] = []
    with db.session() as session:
        cache = _Parties(session)
        for number, raw in enumerate(records, start=1):
            try:
                if _apply(session, cache, _parse(raw, tz)):
                    updated += 1
                imported += 1
            except _RowError as exc:
                skipped += 1
                errors.append(f"row {number}: {exc}")
        detail = {"imported": imported, "updated": updated, "skipped": skipped}
        record_audit(session, None, "orders.import", "orders", source, detail)
    return ImportReport(imported, updated, skipped, errors)


# --- reading one row ----------------------------------------------------------------------------


class _Fields:
    """Reads a raw row's fields, collecting a problem per bad field instead of stopping."""

    def __init__(self, raw: Mapping[str, Any], tz: ZoneInfo) -> None:
        self.raw = raw
        self.tz = tz
        self.problems: list[str] = []

    def fail(self, name: str, problem: str) -> None:
        self.problems.append(f"{name}: {problem}")

    def value(self, name: str) -> Any:
        value = self.raw.get(name)
        return value.strip() if isinstance(value, str) else value

    def text(self, name: str, *, required: bool = False, limit: int = 255) -> str:
        value = self.value(name)
        if value is None or value == "":
            if required:
                self.fail(name, "missing")
            return ""
        if not isinstance(value, str | int):
            self.fail(name, f"expected text, got {value!r}")
            return ""
        if len(str(value)) > limit:
            self.fail(name, f"longer than {limit} characters")
        return str(value)

    def phone(self, name: str, *, required: bool = False) -> str:
        raw = self.text(name, required=required)
        key = lookup_key(raw) if raw else ""
        if raw and not key:
            self.fail(name, f"{raw!r} is not a phone number")
        return key

    def time(self, name: str, *, required: bool = False) -> datetime | None:
        raw = self.text(name, required=required)
        return _time(raw, self.tz, self, name) if raw else None

    def integer(self, name: str) -> int | None:
        value = self.value(name)
        if value is None or value == "":
            return None
        number = _integer(value)
        if number is None or number < 0:
            self.fail(name, f"expected a whole number of fen ≥ 0, got {value!r}")
        return number

    def flag(self, name: str) -> bool | None:
        value = self.value(name)
        if value is None or isinstance(value, bool):
            return value
        if str(value).lower() in TRUE | FALSE:
            return str(value).lower() in TRUE
        self.fail(name, f"expected true or false, got {value!r}")
        return None


def _parse(raw: Mapping[str, Any], tz: ZoneInfo) -> _Row:
    f = _Fields(raw, tz)
    order_no = f.text("order_no", required=True, limit=32)
    if order_no and not order_no.isdigit():
        f.fail("order_no", f"{order_no!r} is not digits only")
    channel = f.text("channel", required=True).lower()
    channel = CHANNEL_NAMES.get(channel, channel)
    if channel and channel not in ORDER_CHANNELS:
        f.fail("channel", f"{channel!r} is not one of {', '.join(ORDER_CHANNELS)}")
    status = f.text("status").lower()
    if status and status not in ORDER_STATUSES:
        f.fail("status", f"{status!r} is not one of {', '.join(ORDER_STATUSES)}")
    rider_name, rider_phone = f.text("rider_name", limit=64), f.phone("rider_phone")
    if rider_name and not f.value("rider_phone"):
        f.fail("rider_phone", "missing (riders are found by their phone)")
    row = _Row(
        order_no=order_no,
        channel=channel,
        status=status,
        customer_phone=f.phone("customer_phone", required=True),
        customer_name=f.text("customer_name", limit=64),
        customer_vip=f.flag("customer_vip"),
        merchant=f.text("merchant", required=True, limit=128),
        merchant_phone=f.phone("merchant_phone"),
        store=f.text("store", required=True, limit=128),
        store_phone=f.phone("store_phone"),
        store_address=f.text("store_address"),
        rider_name=rider_name,
        rider_phone=rider_phone,
        rider_team=f.text("rider_team", limit=64),
        amount_fen=f.integer("amount_fen"),
        delivery_address=f.text("delivery_address"),
        remarks=f.text("remarks", limit=10_000),
        placed_at=f.time("placed_at", required=True) or datetime.min,
        promised_at=f.time("promised_at", required=True) or datetime.min,
        delivered_at=f.time("delivered_at"),
        items=_items(f),
        timeline=_timeline(f),
    )
    if f.problems:
        raise _RowError(f.problems)
    return row


def _items(f: _Fields) -> tuple[_Item, ...]:
    value = f.value("items")
    if value is None or value == "":
        return ()
    items: list[_Item] = []
    if isinstance(value, str):
        for i, part in enumerate(p.strip() for p in value.split(";") if p.strip()):
            match = ITEM.match(part)
            if match is None:
                f.fail(f"items[{i + 1}]", f"{part!r} is not like 宫保鸡丁(微辣)x1@2800")
                continue
            qty, price = int(match["qty"]), int(match["price"])
            items.append(_Item(match["name"], qty, price, (match["spec"] or "").strip()))
    elif isinstance(value, list):
        for i, entry in enumerate(value):
            entry = entry if isinstance(entry, dict) else {}
            name, spec = entry.get("name"), str(entry.get("spec") or "")
            count, fen = _integer(entry.get("quantity", 1)), _integer(entry.get("unit_price_fen"))
            if not (isinstance(name, str) and name.strip()) or count is None or fen is None:
                f.fail(f"items[{i + 1}]", "needs name, quantity and unit_price_fen")
                continue
            items.append(_Item(name.strip(), count, fen, spec))
    else:
        f.fail("items", "expected a list or text like 宫保鸡丁x1@2800;米饭x2@200")
    for i, item in enumerate(items):
        if item.quantity < 1 or item.unit_price_fen < 0:
            f.fail(f"items[{i + 1}]", "quantity must be ≥ 1 and the price ≥ 0")
    return tuple(items)


def _timeline(f: _Fields) -> tuple[_Step, ...]:
    value = f.value("timeline")
    if value is None or value == "":
        return ()
    entries: list[dict[str, Any]] = []
    if isinstance(value, str):
        for part in (p.strip() for p in value.split(";") if p.strip()):
            head, _, when = part.partition("@")
            kind, _, actor = head.strip().partition(":")
            entries.append({"kind": kind, "actor": actor, "at": when})
    elif isinstance(value, list):
        entries = [e if isinstance(e, dict) else {} for e in value]
    else:
        f.fail("timeline", "expected a list or text like placed@2026-11-23T11:00:00+08:00")
    steps: list[_Step] = []
    for i, entry in enumerate(entries):
        name = f"timeline[{i + 1}]"
        kind = str(entry.get("kind") or "").strip()
        actor = str(entry.get("actor") or "").strip() or DEFAULT_ACTORS.get(kind, "rider")
        at = _time(str(entry.get("at") or "").strip(), f.tz, f, name)
        data = entry.get("data") or {}
        if kind not in ORDER_EVENT_KINDS:
            f.fail(name, f"unknown kind {kind!r}")
        elif actor not in PARTIES:
            f.fail(name, f"unknown actor {actor!r}")
        elif not isinstance(data, dict):
            f.fail(name, "data must be an object")
        elif at is not None:
            steps.append(_Step(at, kind, actor, str(entry.get("note") or "")[:255], data))
    return tuple(steps)


def _time(raw: str, tz: ZoneInfo, f: _Fields, name: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.replace("/", "-"))
    except ValueError:
        f.fail(name, f"{raw!r} is not a time like 2026-11-23T11:00:00+08:00")
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


# --- writing one row ----------------------------------------------------------------------------


class _Parties:
    """Customers, riders, merchants and stores by key, found once per import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[tuple[str, ...], Any] = {}

    def one(self, key: tuple[str, ...], query: Any) -> Any:
        if key not in self.found:
            self.found[key] = self.session.scalars(query.limit(1)).first()
        return self.found[key]

    def add(self, key: tuple[str, ...], row: Any) -> Any:
        self.session.add(row)
        self.found[key] = row
        return row


def _apply(session: Session, parties: _Parties, row: _Row) -> bool:
    """Write one checked row; True when it updated an existing order."""
    order = session.scalars(select(Order).where(Order.order_no == row.order_no)).first()
    stored = [_Step(e.at, e.kind, e.actor, e.note, e.data) for e in order.events] if order else []
    known = {step.key for step in stored}
    new_steps: list[_Step] = []
    for step in row.timeline:
        if step.key not in known:
            known.add(step.key)
            new_steps.append(step)
    if order is None and not any(s.kind == "placed" for s in new_steps):
        new_steps.append(_Step(row.placed_at, "placed", "customer"))
    if order is None and not row.items:
        raise _RowError(["items: a new order needs at least one item"])
    status = _last_status([*stored, *new_steps])
    if row.status and row.status != status:
        if row.timeline:
            raise _RowError([f"status: {row.status!r} but the timeline ends {status!r}"])
        latest = max(s.at for s in [*stored, *new_steps])
        at = row.delivered_at if row.status == "delivered" and row.delivered_at else latest
        new_steps.append(_Step(at, row.status, DEFAULT_ACTORS.get(row.status, "rider")))
        status = row.status
    delivered = [s.at for s in [*stored, *new_steps] if s.kind == "delivered"]
    rider = _rider(parties, row)
    if order is None:
        order = Order(
            order_no=row.order_no,
            channel=row.channel,
            customer_id=_customer(parties, row).id,
            store_id=_store(parties, row).id,
            amount_fen=sum(i.quantity * i.unit_price_fen for i in row.items)
            if row.amount_fen is None
            else row.amount_fen,
            delivery_address=row.delivery_address,
            remarks=row.remarks,
            placed_at=row.placed_at,
            promised_at=row.promised_at,
            items=[item.model() for item in row.items],
        )
        session.add(order)
        existed = False
    else:
        _customer(parties, row)  # names and VIP flags still follow the export
        existed = True
    order.status = status
    order.rider_id = rider.id if rider is not None else order.rider_id
    order.delivered_at = min(delivered) if delivered else None
    for step in sorted(new_steps, key=lambda s: s.at):
        order.events.append(
            OrderEvent(at=step.at, kind=step.kind, actor=step.actor, note=step.note, data=step.data)
        )
    session.flush()
    return existed


def _last_status(steps: list[_Step]) -> str:
    statuses = [s for s in steps if s.kind in RANK]
    if not statuses:
        return "placed"
    return max(statuses, key=lambda s: (s.at, RANK[s.kind])).kind


def _customer(parties: _Parties, row: _Row) -> Customer:
    key = ("customer", row.customer_phone)
    query = select(Customer).where(Customer.phone == row.customer_phone).order_by(Customer.id)
    customer: Customer | None = parties.one(key, query)
    if customer is None:
        customer = Customer(
            phone=row.customer_phone,
            name=row.customer_name,
            vip=bool(row.customer_vip),
            complaints_90d=0,
            registered_at=row.placed_at,
        )
        parties.add(key, customer)
        parties.session.flush()
        return customer
    if row.customer_name:
        customer.name = row.customer_name
    if row.customer_vip is not None:
        customer.vip = row.customer_vip
    return customer


def _rider(parties: _Parties, row: _Row) -> Rider | None:
    if not row.rider_phone:
        return None
    key = ("rider", row.rider_phone)
    rider: Rider | None = parties.one(
        key, select(Rider).where(Rider.phone == row.rider_phone).order_by(Rider.id)
    )
    if rider is None:
        rider = parties.add(
            key, Rider(phone=row.rider_phone, name=row.rider_name, team=row.rider_team)
        )
        parties.session.flush()
    else:
        rider.name = row.rider_name or rider.name
        rider.team = row.rider_team or rider.team
    return rider


def _store(parties: _Parties, row: _Row) -> Store:
    merchant = _merchant(parties, row)
    if row.store_phone:
        key: tuple[str, ...] = ("store", row.store_phone)
        query = select(Store).where(Store.phone == row.store_phone)
    else:
        key = ("store", "", str(merchant.id), row.store)
        query = select(Store).where(Store.merchant_id == merchant.id, Store.name == row.store)
    store: Store | None = parties.one(key, query.order_by(Store.id))
    if store is None:
        phone = row.store_phone or None
        new = Store(merchant_id=merchant.id, name=row.store, address=row.store_address, phone=phone)
        store = parties.add(key, new)
        parties.session.flush()
    store.name = row.store
    store.address = row.store_address or store.address
    return store


def _merchant(parties: _Parties, row: _Row) -> Merchant:
    if row.merchant_phone:
        key: tuple[str, ...] = ("merchant", row.merchant_phone)
        query = select(Merchant).where(Merchant.phone == row.merchant_phone)
    else:
        key = ("merchant", "", row.merchant)
        query = select(Merchant).where(Merchant.name == row.merchant)
    merchant: Merchant | None = parties.one(key, query.order_by(Merchant.id))
    if merchant is None:
        merchant = parties.add(key, Merchant(name=row.merchant, phone=row.merchant_phone or None))
        parties.session.flush()
    merchant.name = row.merchant
    return merchant
