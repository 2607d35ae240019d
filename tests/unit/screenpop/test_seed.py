"""The demo order generator and the planted screen-pop cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tingyin.phones import lookup_key
from tingyin.screenpop.scenarios import Scenarios, plant_scenarios
from tingyin.screenpop.seed import generate_orders
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
from tingyin.store.models.orders import ORDER_EVENT_KINDS, ORDER_STATUSES, PARTIES

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # noon in Beijing: the lunch peak
BEIJING = ZoneInfo("Asia/Shanghai")
ACTIVE = {"placed", "accepted", "ready", "picked_up"}
RANK = {kind: i for i, kind in enumerate(ORDER_STATUSES)}


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """2 000 random orders on SQLite, shared by the read-only checks below."""
    path: Path = tmp_path_factory.mktemp("seed") / "tingyin.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    summary = generate_orders(db, 2000, now=NOW, seed=7, progress=False)
    assert (summary.orders, summary.customers) == (2000, 333)
    assert summary.events > 5 * summary.orders and summary.items > summary.orders
    assert summary.seconds > 0
    yield db
    db.dispose()


def check_consistency(db: Database, now: datetime = NOW) -> dict[str, Order]:
    """Every order's status is its timeline's last status; times and numbers make sense."""
    with db.session() as session:
        orders = {o.order_no: o for o in session.scalars(select(Order))}
        events: dict[int, list[OrderEvent]] = defaultdict(list)
        for event in session.scalars(select(OrderEvent).order_by(OrderEvent.at)):
            events[event.order_id].append(event)
        items = Counter(session.scalars(select(OrderItem.order_id)))
        totals: dict[int, int] = defaultdict(int)
        for item in session.scalars(select(OrderItem)):
            totals[item.order_id] += item.quantity * item.unit_price_fen
    for no, order in orders.items():
        timeline = events[order.id]
        statuses = [e for e in timeline if e.kind in RANK]
        assert max(statuses, key=lambda e: (e.at, RANK[e.kind])).kind == order.status, no
        assert timeline[0].kind == "placed" and timeline[0].at == order.placed_at, no
        assert all(e.kind in ORDER_EVENT_KINDS and e.actor in PARTIES for e in timeline), no
        assert all(e.at <= now for e in timeline), no
        delivered = [e.at for e in timeline if e.kind == "delivered"]
        assert order.delivered_at == (delivered[0] if delivered else None), no
        kinds = {e.kind for e in timeline}
        if "picked_up" in kinds:
            assert order.rider_id is not None, no
        if "accepted" not in kinds:
            assert order.rider_id is None, no
        assert items[order.id] >= 1 and order.amount_fen >= totals[order.id], no
        assert len(no) == 16 and no.isdigit()
    return orders


def test_random_orders_are_consistent_and_varied(seeded: Database) -> None:
    orders = check_consistency(seeded)
    assert len(orders) == 2000
    statuses = Counter(o.status for o in orders.values())
    assert statuses["delivered"] > 0.8 * 2000
    assert statuses["cancelled"] > 0 and statuses["refunded"] > 0
    assert sum(statuses[s] for s in ACTIVE) > 0
    for order in orders.values():
        assert timedelta(minutes=30) <= order.promised_at - order.placed_at <= timedelta(minutes=50)
        assert NOW - timedelta(days=30) <= order.placed_at <= NOW
    late = [o for o in orders.values() if o.delivered_at and o.delivered_at > o.promised_at]
    assert 0.03 * 2000 < len(late) < 0.25 * 2000
    recent = [o for o in orders.values() if o.placed_at > ago(90)]
    assert 0.02 * 2000 <= len(recent) <= 0.05 * 2000
    assert any(o.status in ACTIVE for o in recent)
    local_hours = Counter(o.placed_at.astimezone(BEIJING).hour for o in orders.values())
    assert local_hours[12] > 3 * local_hours[16]  # the lunch peak
    channels = Counter(o.channel for o in orders.values())
    assert set(channels) <= {"meituan", "eleme", "miniprogram", "douyin", "phone"}
    assert channels.most_common(1)[0][0] == "meituan"
    assert any("不要香菜" in o.remarks for o in orders.values())
    assert Counter(bool(o.remarks) for o in orders.values())[False] > 1000

    with seeded.session() as session:
        cancellers = set(
            session.scalars(select(OrderEvent.actor).where(OrderEvent.kind == "cancelled"))
        )
        assert {"rider", "merchant"} <= cancellers
        asked = set(
            session.scalars(
                select(Order.status)
                .join(OrderEvent, OrderEvent.order_id == Order.id)
                .where(OrderEvent.kind == "refund_requested")
            )
        )
        assert asked == {"delivered", "refunded"}  # some asked, not refunded yet
        pings = session.scalars(select(OrderEvent).where(OrderEvent.kind == "rider_position"))
        assert all(39 < p.data["lat"] < 41 and 115 < p.data["lng"] < 118 for p in pings)
        specs = set(session.scalars(select(OrderItem.spec)))
        assert {"微辣", "大份", "去冰"} & specs


def test_random_people_have_valid_unused_numbers(seeded: Database) -> None:
    with seeded.session() as session:
        customers = list(session.scalars(select(Customer)))
        riders = list(session.scalars(select(Rider)))
        stores = list(session.scalars(select(Store)))
        merchants = list(session.scalars(select(Merchant)))
        bindings = list(session.scalars(select(NumberBinding)))
        orders = {o.id: o for o in session.scalars(select(Order).where(Order.status.in_(ACTIVE)))}
    phones = [c.phone for c in customers] + [r.phone for r in riders]
    assert len(set(phones)) == len(phones)
    others = [s.phone for s in stores] + [m.phone for m in merchants]
    for phone in phones + [p for p in others if p]:
        assert lookup_key(phone) == phone
        assert not phone.startswith(("+86138000000", "+86171000000", "+86106234567"))
        assert phone != lookup_key(Scenarios().unknown_number)
    assert any(p.startswith(("+8613", "+8615", "+8618", "+8619")) for p in phones)
    assert 0.02 < sum(c.vip for c in customers) / len(customers) < 0.2
    assert any(c.complaints_90d > 3 for c in customers)
    assert any(c.registered_at > NOW - timedelta(days=7) for c in customers)
    assert any(r.team.endswith("站") for r in riders)
    names = {m.name for m in merchants}
    assert {"老乡鸡", "杨国福麻辣烫", "沙县小吃"} <= names
    assert any(s.address.startswith("北京市") and "（" in s.name for s in stores)
    assert bindings
    for binding in bindings:
        order = orders[binding.order_id]  # bound to active orders only
        assert binding.virtual_number.startswith(("+86170", "+86171"))
        assert binding.party in {"customer", "rider"}
        assert binding.valid_from == order.placed_at
        assert binding.valid_until == order.placed_at + timedelta(hours=3)


def test_seed_and_plant_on_each_backend(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    try:
        first = generate_orders(db, 300, now=NOW, seed=1, progress=False)
        planted = plant_scenarios(db, now=NOW)
        assert planted.created
        again = plant_scenarios(db, now=NOW)
        assert not again.created and again.late_order == planted.late_order
        second = generate_orders(db, 300, now=NOW, seed=1, progress=False)  # same seed: adds
        assert first.orders == second.orders == 300
        orders = check_consistency(db)
        assert len(orders) == 600 + 11
        with db.session() as session:
            key = lookup_key(planted.late_customer)
            assert session.scalar(select(func.count()).where(Customer.phone == key)) == 1
        check_scenarios(db, planted)
        later = NOW + timedelta(days=3, minutes=7)  # the demo started again days later
        refreshed = plant_scenarios(db, now=later, refresh=True)
        assert not refreshed.created
        check_scenarios(db, planted, now=later)
        assert len(check_consistency(db, now=later)) == 611
    finally:
        db.dispose()


def check_scenarios(db: Database, s: Scenarios, now: datetime = NOW) -> None:
    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    with db.session() as session:

        def order(no: str) -> Order:
            found = session.scalars(select(Order).where(Order.order_no == no)).one()
            return found

        def pings(o: Order) -> list[tuple[datetime, float, float]]:
            return [(e.at, e.data["lat"], e.data["lng"]) for e in o.events if e.data]

        late = order(s.late_order)
        assert late.customer.phone == lookup_key(s.late_customer)
        assert late.status == "picked_up" and late.delivered_at is None
        assert late.promised_at == ago(30)
        assert late.rider is not None and late.rider.phone == lookup_key(s.late_rider)
        track = pings(late)
        assert len({(lat, lng) for _, lat, lng in track}) == len(track) >= 5
        assert track[-1][0] > ago(5)

        missing = order(s.missing_item_order)
        assert missing.customer.phone == lookup_key(s.missing_item_customer)
        assert missing.status == "delivered" and missing.delivered_at == ago(20)
        assert missing.delivered_at <= missing.promised_at

        cancelled = order(s.rider_cancelled_order)
        assert cancelled.customer.phone == lookup_key(s.rider_cancelled_customer)
        last = cancelled.events[-1]
        assert (cancelled.status, last.kind, last.actor, last.at) == (
            "cancelled", "cancelled", "rider", ago(10)
        )  # fmt: skip

        food = order(s.food_safety_order)
        assert food.customer.phone == lookup_key(s.food_safety_customer)
        assert food.status == "delivered" and "花生过敏，请不要放花生" in food.remarks

        vip = order(s.vip_order)
        assert vip.customer.phone == lookup_key(s.vip_customer) and vip.customer.vip
        assert vip.status in ACTIVE and vip.promised_at > now

        new = order(s.new_customer_order)
        assert new.customer.phone == lookup_key(s.new_customer)
        assert new.customer.registered_at == now - timedelta(days=2)
        count = select(func.count()).where(Order.customer_id == new.customer_id)
        assert session.scalar(count) == 1

        stuck = order(s.rider_order)
        assert stuck.rider is not None and stuck.rider.phone == lookup_key(s.rider)
        assert stuck.status == "picked_up"
        assert [e.at for e in stuck.events if e.kind == "picked_up"] == [ago(25)]
        track = pings(stuck)
        still = {(lat, lng) for at, lat, lng in track if at >= ago(15)}
        assert len(still) == 1 and track[0][1:] not in still and track[-1][0] > ago(1)

        store = session.scalars(select(Store).where(Store.phone == lookup_key(s.merchant_store)))
        the_store = store.one()
        active = session.scalars(
            select(Order).where(Order.store_id == the_store.id, Order.status.in_(ACTIVE))
        ).all()
        assert {o.order_no for o in active} == set(s.merchant_orders)
        slow = order(s.merchant_slow_order)
        assert slow.store_id == the_store.id and slow.status == "accepted"
        assert [e.at for e in slow.events if e.kind == "accepted"] == [ago(35)]

        binding = session.scalars(
            select(NumberBinding).where(NumberBinding.virtual_number == lookup_key(s.masked_number))
        ).one()
        assert (binding.order_id, binding.party) == (late.id, "customer")
        assert binding.valid_from <= now < binding.valid_until

        unknown = lookup_key(s.unknown_number)
        for column in (Customer.phone, Rider.phone, Store.phone, Merchant.phone):
            assert session.scalar(select(func.count()).where(column == unknown)) == 0
        assert not session.scalar(
            select(func.count()).where(NumberBinding.virtual_number == unknown)
        )
