"""The planted cases: a few fixed customers, riders, stores and orders with known numbers.

Tests and the demo call from these numbers and expect a known screen pop: a late order, a
missing item, a rider who cancelled, an allergy remark, a VIP, a new customer, a rider stuck
in place, a slow kitchen, a platform privacy number, and a number nobody has. Times are set
relative to ``now``; ``refresh=True`` moves them to a new ``now`` (the demo, on every start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.phones import lookup_key
from tingyin.screenpop.seed import CANCEL_NOTES, STATUSES
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


@dataclass(frozen=True)
class Scenarios:
    """The planted cases: numbers as a caller dials them (national format), order numbers."""

    late_customer: str = "13800000001"  # picked up, promised 30 min ago, rider moving
    late_order: str = "8800000000000001"
    late_rider: str = "13800000008"
    missing_item_customer: str = "13800000002"  # delivered 20 min ago, on time
    missing_item_order: str = "8800000000000002"
    rider_cancelled_customer: str = "13800000003"  # the rider cancelled 10 min ago
    rider_cancelled_order: str = "8800000000000003"
    food_safety_customer: str = "13800000004"  # delivered; remarks: 花生过敏
    food_safety_order: str = "8800000000000004"
    vip_customer: str = "13800000005"  # VIP, an order in progress that is fine
    vip_order: str = "8800000000000005"
    new_customer: str = "13800000006"  # registered 2 days ago, one order
    new_customer_order: str = "8800000000000006"
    rider: str = "13800000007"  # picked up 25 min ago, not moved for 15 min
    rider_order: str = "8800000000000007"
    merchant_store: str = "01062345678"  # a store with orders in progress
    merchant_slow_order: str = "8800000000000008"  # accepted 35 min ago, not ready
    merchant_orders: tuple[str, ...] = ("8800000000000008", "8800000000000009", "8800000000000010")
    masked_number: str = "17100000009"  # privacy number: the late order's customer, valid now
    unknown_number: str = "13900000000"  # nothing at all
    created: bool = True  # False when an earlier call planted them

    def lines(self) -> list[str]:
        return [
            f"late order      customer {self.late_customer}  order {self.late_order}  "
            f"rider {self.late_rider}",
            f"missing item    customer {self.missing_item_customer}  "
            f"order {self.missing_item_order}",
            f"rider cancelled customer {self.rider_cancelled_customer}  "
            f"order {self.rider_cancelled_order}",
            f"food safety     customer {self.food_safety_customer}  order {self.food_safety_order}",
            f"VIP             customer {self.vip_customer}  order {self.vip_order}",
            f"new customer    customer {self.new_customer}  order {self.new_customer_order}",
            f"stuck rider     rider    {self.rider}  order {self.rider_order}",
            f"slow merchant   store    {self.merchant_store}  order {self.merchant_slow_order}",
            f"privacy number  {self.masked_number} (customer of {self.late_order})",
            f"unknown number  {self.unknown_number}",
        ]


# Who is who in the planted cases; numbers as dialled.
PLANTED_PEOPLE = {
    "13800000001": "王芳",
    "13800000002": "李娜",
    "13800000003": "张伟",
    "13800000004": "陈静",
    "13800000005": "刘洋",
    "13800000006": "杨帆",
    "13800000011": "黄敏",
    "13800000012": "周杰",
    "13800000013": "吴磊",
    "13800000014": "徐丽",
}
PLANTED_RIDERS = {"13800000007": "刘强", "13800000008": "赵磊", "13800000009": "孙浩"}
PLANTED_STORES = {  # key: merchant, store, phone, address
    "A": (
        "老乡鸡",
        "老乡鸡（望京SOHO店）",
        "01062345671",
        "北京市朝阳区阜通东大街6号望京SOHO T2 B1层",
    ),
    "B": (
        "蜀香川菜馆",
        "蜀香川菜馆（望京店）",
        "01062345672",
        "北京市朝阳区广顺北大街33号凯德MALL 4层",
    ),
    "C": ("南城香", "南城香（望京店）", "01062345678", "北京市朝阳区望京街9号望京国际商业中心1层"),
}
PLANTED_MEALS = {
    "meal": (("农家一碗香", 1, 2380, ""), ("米饭", 2, 200, ""), ("肥西老母鸡汤", 1, 1580, "")),
    "fish": (("水煮鱼", 1, 6800, "中辣"), ("米饭", 2, 200, "")),
    "chicken": (("宫保鸡丁", 1, 3200, "微辣"), ("米饭", 1, 200, "")),
    "pork": (("回锅肉", 1, 3800, ""), ("米饭", 1, 200, "")),
    "wonton": (("鲜肉大馄饨", 1, 1800, ""), ("招牌肉串", 4, 500, "微辣")),
}
# Order no. 88000000000000NN, customer and rider 138000000NN (- for none), the store, when it
# was promised, the meal, then its timeline as kind[:actor]@minutes; minutes before now.
PLANTED_ORDERS = """
01 01 A 08   30 meal    placed@65 accepted@64 ready@48 picked_up@42
02 02 A 08   15 meal    placed@55 accepted@54 ready@42 picked_up@38 delivered@20
03 03 B 09  -10 fish    placed@30 accepted@29 cancelled:rider@10
04 04 B 08  105 chicken placed@150 accepted@149 ready@130 picked_up@126 delivered@110
11 05 A 08 4300 meal    placed@4340 accepted@4339 ready@4325 picked_up@4320 delivered@4308
05 05 A 08  -28 meal    placed@12 accepted@11
06 06 A 08 1520 meal    placed@1560 accepted@1559 ready@1545 picked_up@1540 delivered@1528
07 11 B 07   -5 pork    placed@40 accepted@39 ready@27 picked_up@25
08 12 C -    -3 wonton  placed@37 accepted@35
09 13 C -   -30 wonton  placed@10 accepted@8
10 14 C 08  -18 wonton  placed@22 accepted@21 ready@2
"""
PLANTED_PINGS: dict[
    str, list[tuple[float, float, float]]
] = {  # order_no: (minutes before now, lat, lng)
    # The late order: the rider moves towards the customer.
    "8800000000000001": [(m, 39.9935 + m * 0.0004, 116.474 - m * 0.0002) for m in range(41, 0, -3)],
    # The stuck rider: the same place for the last 15 minutes.
    "8800000000000007": [(24, 39.995, 116.472), (21, 39.9962, 116.4705), (18, 39.9971, 116.4693)]
    + [(m, 39.9978, 116.4688) for m in (15, 12, 9, 6, 3, 0.5)],
}
PLANTED_HOME = "北京市朝阳区望京望京花园3号楼2单元1203"
ACTORS = {
    "placed": "customer",
    "accepted": "merchant",
    "ready": "merchant",
    "cancelled": "platform",
}


def plant_scenarios(db: Database, *, now: datetime, refresh: bool = False) -> Scenarios:
    """Add the planted cases unless an earlier call did.

    Then nothing is added; with ``refresh`` their times move so that they hold at ``now``
    again (the late order is again 30 minutes late, the privacy number bound now, …).
    """
    s = Scenarios()
    with db.session() as session:
        if session.scalar(select(Customer.id).where(Customer.phone == _key(s.late_customer))):
            if refresh:
                _shift_planted(session, s, now)
            return Scenarios(created=False)

        def ago(minutes: float) -> datetime:
            return now - timedelta(minutes=minutes)

        customers = {
            phone: Customer(
                phone=_key(phone),
                name=name,
                vip=False,
                complaints_90d=0,
                registered_at=ago(400 * 1440),
            )
            for phone, name in PLANTED_PEOPLE.items()
        }
        customers[s.vip_customer].vip = True
        customers[s.new_customer].registered_at = ago(2 * 1440)
        riders = {
            phone: Rider(phone=_key(phone), name=name, team="望京一站")
            for phone, name in PLANTED_RIDERS.items()
        }
        stores = {
            key: Store(merchant=Merchant(name=m), name=name, phone=_key(phone), address=address)
            for key, (m, name, phone, address) in PLANTED_STORES.items()
        }
        orders = {}
        for line in PLANTED_ORDERS.strip().splitlines():
            n, customer, store, rider, promised, meal, *timeline = line.split()
            no = f"88{n:0>14}"
            steps = []
            for step in timeline:
                kind_actor, _, minutes = step.partition("@")
                kind, _, actor = kind_actor.partition(":")
                note = CANCEL_NOTES[actor][0] if kind == "cancelled" else ""
                steps.append(
                    OrderEvent(
                        at=ago(float(minutes)),
                        kind=kind,
                        actor=actor or ACTORS.get(kind, "rider"),
                        note=note,
                        data={},
                    )
                )
            for before, lat, lng in PLANTED_PINGS.get(no, ()):
                data = {"lat": round(lat, 6), "lng": round(lng, 6)}
                ping = OrderEvent(at=ago(before), kind="rider_position", actor="rider", data=data)
                steps.append(ping)
            steps.sort(key=lambda e: e.at)
            items = [
                OrderItem(name=n, quantity=q, unit_price_fen=p, spec=sp)
                for n, q, p, sp in PLANTED_MEALS[meal]
            ]
            orders[no] = Order(
                order_no=no,
                channel="meituan",
                customer=customers[f"138000000{customer}"],
                store=stores[store],
                rider=riders.get(f"138000000{rider}"),
                status=[e.kind for e in steps if e.kind in STATUSES][-1],
                amount_fen=sum(i.quantity * i.unit_price_fen for i in items) + 300,
                delivery_address=PLANTED_HOME,
                remarks="花生过敏，请不要放花生" if no == s.food_safety_order else "",
                placed_at=steps[0].at,
                promised_at=ago(float(promised)),
                delivered_at=next((e.at for e in steps if e.kind == "delivered"), None),
                items=items,
                events=steps,
            )
        session.add_all(orders.values())
        session.flush()
        late = orders[s.late_order]
        session.add(
            NumberBinding(
                virtual_number=_key(s.masked_number),
                order_id=late.id,
                party="customer",
                valid_from=late.placed_at,
                valid_until=late.placed_at + timedelta(hours=3),
            )
        )
    return s


def _shift_planted(session: Session, s: Scenarios, now: datetime) -> None:
    """Move every time of the planted cases by how long ago they were planted."""
    late = session.scalars(select(Order).where(Order.order_no == s.late_order)).first()
    if late is None:
        return
    delta = now - (late.promised_at + timedelta(minutes=30))  # planted 30 min after its promise
    numbers = [f"88{line.split()[0]:0>14}" for line in PLANTED_ORDERS.strip().splitlines()]
    orders = session.scalars(select(Order).where(Order.order_no.in_(numbers))).all()
    for order in orders:
        order.placed_at += delta
        order.promised_at += delta
        order.delivered_at = order.delivered_at + delta if order.delivered_at else None
        for event in order.events:
            event.at += delta
    ids = [order.id for order in orders]
    for binding in session.scalars(select(NumberBinding).where(NumberBinding.order_id.in_(ids))):
        binding.valid_from += delta
        binding.valid_until += delta
    phones = [_key(phone) for phone in PLANTED_PEOPLE]
    for customer in session.scalars(select(Customer).where(Customer.phone.in_(phones))):
        customer.registered_at += delta


def _key(raw: str) -> str:
    key = lookup_key(raw)
    assert key, raw
    return key
