"""Importing a platform's order export (CSV and JSON), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tingyin.audit.queries import recent_audit
from tingyin.screenpop.importer import ImportFormatError, import_orders, read_records
from tingyin.store import Database
from tingyin.store.models import Customer, Merchant, Order, Rider, Store

BEIJING = ZoneInfo("Asia/Shanghai")
CSV_HEADER = (
    "order_no,channel,status,customer_phone,customer_name,merchant,store,store_phone,"
    "store_address,rider_name,rider_phone,amount_fen,delivery_address,remarks,placed_at,"
    "promised_at,delivered_at,items,timeline"
)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def order_json(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_no": "2611230000000001",
        "channel": "meituan",
        "customer_phone": "138 1234 5678",
        "customer_name": "王芳",
        "merchant": "老乡鸡",
        "store": "老乡鸡（望京店）",
        "store_phone": "010-6234-5600",
        "store_address": "北京市朝阳区阜通东大街6号",
        "rider_name": "赵磊",
        "rider_phone": "+86 139 1111 2222",
        "delivery_address": "北京市朝阳区望京花园3号楼2单元1203",
        "remarks": "不要香菜",
        "placed_at": "2026-11-23T11:00:00+08:00",
        "promised_at": "2026-11-23T11:40:00+08:00",
        "items": [
            {"name": "农家一碗香", "quantity": 1, "unit_price_fen": 2380, "spec": "微辣"},
            {"name": "米饭", "quantity": 2, "unit_price_fen": 200},
        ],
        "timeline": [
            {"kind": "placed", "at": "2026-11-23T11:00:00+08:00"},
            {"kind": "accepted", "at": "2026-11-23T11:01:00+08:00"},
            {"kind": "picked_up", "at": "2026-11-23T11:20:00+08:00"},
            {
                "kind": "rider_position",
                "at": "2026-11-23T11:25:00+08:00",
                "data": {"lat": 39.99, "lng": 116.47},
            },
        ],
    }
    return {**base, **overrides}


def write_json(tmp_path: Path, orders: list[dict[str, Any]], name: str = "orders.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(orders, ensure_ascii=False), encoding="utf-8")
    return path


def load(db: Database, order_no: str) -> Order:
    with db.session() as session:
        order = session.scalars(select(Order).where(Order.order_no == order_no)).one()
        _ = (order.items, order.events, order.customer, order.store.merchant, order.rider)
        return order


def test_json_orders_are_imported_with_parties_items_and_timeline(
    db: Database, tmp_path: Path
) -> None:
    second = order_json(
        order_no="2611230000000002",
        customer_phone="+8613812345678",  # the same customer, spelled differently
        customer_name="王芳",
        rider_name="",
        rider_phone="",
        timeline=[],
        status="placed",
        placed_at="2026-11-23 11:30:00",  # no zone: Beijing time
        promised_at="2026-11-23 12:10:00",
    )
    report = import_orders(db, write_json(tmp_path, [order_json(), second]), tz=BEIJING)
    assert (report.imported, report.updated, report.skipped, report.errors) == (2, 0, 0, [])

    order = load(db, "2611230000000001")
    assert order.status == "picked_up" and order.channel == "meituan"
    assert order.customer.phone == "+8613812345678" and order.customer.name == "王芳"
    assert order.store.phone == "+861062345600" and order.store.merchant.name == "老乡鸡"
    assert order.rider is not None and order.rider.phone == "+8613911112222"
    assert [(i.name, i.quantity, i.unit_price_fen, i.spec) for i in order.items] == [
        ("农家一碗香", 1, 2380, "微辣"),
        ("米饭", 2, 200, ""),
    ]
    assert order.amount_fen == 2780  # the items' sum when no amount is given
    assert [(e.kind, e.actor) for e in order.events] == [
        ("placed", "customer"),
        ("accepted", "merchant"),
        ("picked_up", "rider"),
        ("rider_position", "rider"),
    ]
    assert order.events[-1].data == {"lat": 39.99, "lng": 116.47}
    assert order.placed_at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    other = load(db, "2611230000000002")
    assert other.placed_at == datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    assert other.status == "placed" and other.rider is None
    assert [e.kind for e in other.events] == ["placed"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.scalar(select(func.count()).select_from(Store)) == 1
        assert session.scalar(select(func.count()).select_from(Merchant)) == 1
        assert [a.action for a in recent_audit(session)] == ["orders.import"]


def test_bad_rows_are_skipped_with_row_and_field(db: Database, tmp_path: Path) -> None:
    rows = [
        order_json(order_no="2611230000000011"),
        order_json(order_no="26-11", customer_phone="138-1234"),
        order_json(order_no="2611230000000013", channel="ubereats", placed_at="yesterday"),
        order_json(order_no="2611230000000014", items=[{"name": "米饭"}]),
        order_json(order_no="2611230000000015", items=[]),
        order_json(order_no="2611230000000016", status="delivered"),  # timeline says picked_up
        order_json(order_no="2611230000000017", rider_phone=""),
        order_json(order_no="2611230000000018", timeline=[{"kind": "teleported", "at": "x"}]),
        order_json(order_no="2611230000000019"),
    ]
    report = import_orders(db, write_json(tmp_path, rows), tz=BEIJING)
    assert (report.imported, report.skipped) == (2, 7)
    errors = "\n".join(report.errors)
    assert len(report.errors) == 7
    assert "row 2: order_no: '26-11' is not digits only" in errors
    assert "customer_phone: '138-1234' is not a phone number" in errors
    assert "row 3: channel: 'ubereats'" in errors and "placed_at: 'yesterday'" in errors
    assert "row 4: items[1]: needs name, quantity and unit_price_fen" in errors
    assert "row 5: items: a new order needs at least one item" in errors
    assert "row 6: status: 'delivered' but the timeline ends 'picked_up'" in errors
    assert "row 7: rider_phone: missing" in errors
    assert "row 8: timeline[1]" in errors and "unknown kind 'teleported'" in errors
    with db.session() as session:
        numbers = set(session.scalars(select(Order.order_no)))
    assert numbers == {"2611230000000011", "2611230000000019"}


def test_reimport_updates_status_and_appends_timeline(db: Database, tmp_path: Path) -> None:
    import_orders(db, write_json(tmp_path, [order_json()]), tz=BEIJING)
    later = order_json(
        status="delivered",
        customer_name="王芳芳",
        delivered_at="2026-11-23T11:38:00+08:00",
        timeline=[
            *order_json()["timeline"],  # already stored: not added twice
            {"kind": "delivered", "at": "2026-11-23T11:38:00+08:00"},
            {"kind": "refund_requested", "at": "2026-11-23T12:00:00+08:00", "note": "汤洒了"},
        ],
    )
    report = import_orders(db, write_json(tmp_path, [later], "again.json"), tz=BEIJING)
    assert (report.imported, report.updated, report.skipped) == (1, 1, 0)
    order = load(db, "2611230000000001")
    assert order.status == "delivered"
    assert order.delivered_at == datetime(2026, 11, 23, 3, 38, tzinfo=UTC)
    assert [e.kind for e in order.events] == [
        "placed",
        "accepted",
        "picked_up",
        "rider_position",
        "delivered",
        "refund_requested",
    ]
    assert order.customer.name == "王芳芳" and len(order.items) == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalar(select(func.count()).select_from(Rider)) == 1


def test_csv_items_timeline_and_naive_times(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(
            [
                CSV_HEADER,
                "2611230000000031,美团,,13812345678,王芳,沙县小吃,沙县小吃（望京店）,01062345601,"
                '北京市朝阳区,赵磊,13911112222,,望京花园,"微辣、餐具多拿两副",'
                "2026-11-23 11:00:00,2026-11-23 11:40:00,,"
                "拌面(加辣)x1@800;扁肉x2@900,"
                "placed@2026-11-23 11:00:00;accepted@2026-11-23 11:01:00;"
                "cancelled:rider@2026-11-23T03:20:00+00:00",
                "2611230000000032,eleme,delivered,13812345678,王芳,沙县小吃,沙县小吃（望京店）,"
                "01062345601,,,,2000,望京花园,,2026-11-23 12:00,2026-11-23 12:40,"
                "2026-11-23 12:30,蒸饺x2@1000,",
                "2611230000000033,eleme,,13812345678,王芳,沙县小吃,沙县小吃（望京店）,"
                "01062345601,,,,,望京花园,,2026-11-23 12:00,2026-11-23 12:40,,蒸饺 2份,",
            ]
        )
        + "\n",
        encoding="utf-8-sig",
    )
    report = import_orders(db, path, tz=BEIJING)
    assert (report.imported, report.skipped) == (2, 1)
    assert report.errors == ["row 3: items[1]: '蒸饺 2份' is not like 宫保鸡丁(微辣)x1@2800"]

    first = load(db, "2611230000000031")
    assert first.channel == "meituan" and first.status == "cancelled"
    assert [(i.name, i.quantity, i.unit_price_fen, i.spec) for i in first.items] == [
        ("拌面", 1, 800, "加辣"),
        ("扁肉", 2, 900, ""),
    ]
    assert [(e.kind, e.actor) for e in first.events] == [
        ("placed", "customer"),
        ("accepted", "merchant"),
        ("cancelled", "rider"),
    ]
    assert first.placed_at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert first.remarks == "微辣、餐具多拿两副"

    second = load(db, "2611230000000032")  # a status without a timeline gets its step
    assert second.status == "delivered" and second.amount_fen == 2000
    assert [(e.kind, e.at) for e in second.events] == [
        ("placed", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)),
        ("delivered", datetime(2026, 11, 23, 4, 30, tzinfo=UTC)),
    ]


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "orders.txt").write_text("hello")
    (tmp_path / "orders.json").write_text("{not json")
    (tmp_path / "object.json").write_text('{"order_no": "1"}')
    with pytest.raises(ImportFormatError, match="unknown format 'txt'"):
        read_records(tmp_path / "orders.txt")
    with pytest.raises(ImportFormatError, match="not JSON"):
        read_records(tmp_path / "orders.json")
    with pytest.raises(ImportFormatError, match="a list of orders"):
        read_records(tmp_path / "object.json")
    assert read_records(tmp_path / "orders.txt", "csv") == []
