"""Order data for the screen pop: who orders, who cooks, who rides, and what happened when.

Phone numbers are stored normalised (E.164, or the digits of a short service number) so one
indexed equality finds a caller. Money is in fen (分), integers, never floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tingyin.store.base import Base, UTCDateTime

ORDER_CHANNELS = ("meituan", "eleme", "miniprogram", "douyin", "phone")
ORDER_STATUSES = ("placed", "accepted", "ready", "picked_up", "delivered", "cancelled", "refunded")
# Timeline kinds: the statuses plus what happens beside them.
ORDER_EVENT_KINDS = (*ORDER_STATUSES, "rider_position", "refund_requested", "remark")
PARTIES = ("customer", "rider", "merchant", "platform", "system")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    # Complaints the platform counted before Tingyin (tickets add their own later).
    complaints_90d: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)


class Store(Base):
    """One outlet of a merchant (a chain has many): the kitchen an order comes from."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)

    merchant: Mapped[Merchant] = relationship()


class Rider(Base):
    __tablename__ = "riders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    team: Mapped[str] = mapped_column(String(64), default="")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_placed", "customer_id", "placed_at"),
        Index("ix_orders_rider_placed", "rider_id", "placed_at"),
        Index("ix_orders_store_placed", "store_id", "placed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Digits only, so a caller can type it on the keypad.
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    rider_id: Mapped[int | None] = mapped_column(ForeignKey("riders.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(Integer)
    delivery_address: Mapped[str] = mapped_column(String(255))
    remarks: Mapped[str] = mapped_column(Text, default="")
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    promised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    customer: Mapped[Customer] = relationship()
    store: Mapped[Store] = relationship()
    rider: Mapped[Rider | None] = relationship()
    items: Mapped[list[OrderItem]] = relationship(
        order_by="OrderItem.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        order_by="OrderEvent.at", cascade="all, delete-orphan"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    spec: Mapped[str] = mapped_column(String(64), default="")  # 规格: 大份, 微辣 …


class OrderEvent(Base):
    """One step of an order's timeline (append-only): placed, accepted, picked up, …"""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_at", "order_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(
        String(16)
    )  # customer | merchant | rider | platform | system
    note: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. a rider's lat/lng


class NumberBinding(Base):
    """A platform's privacy (virtual) number, bound for a while to one order and one party.

    A call from ``virtual_number`` while the binding holds is that party calling about that order.
    """

    __tablename__ = "number_bindings"
    __table_args__ = (Index("ix_number_bindings_virtual_from", "virtual_number", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    virtual_number: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(16))  # customer | rider | merchant
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
