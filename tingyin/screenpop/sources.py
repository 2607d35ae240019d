"""Order sources: where the screen pop reads customers, riders, merchants and orders.

Orders usually live in the platform's own systems, so the screen pop reads through this small
interface: the built-in SQL tables (``sql_source``), a platform's HTTP order API
(``http_source``), and a short-lived cache in front of either (``cache``). Records here are
plain frozen dataclasses, whichever source produced them. Phone numbers are lookup keys
(``tingyin.phones.lookup_key``): E.164, or a service number's digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tingyin.bus.context import ItemView, TimelineStep

ACTIVE_STATUSES = frozenset({"placed", "accepted", "ready", "picked_up"})


class SourceError(Exception):
    """The order source could not answer (down, timed out, or sent something unreadable)."""


@dataclass(frozen=True, kw_only=True)
class Party:
    """Someone a number belongs to: a customer, a rider, or a merchant's store."""

    kind: str  # customer | rider | merchant
    id: str  # the source's own id, as text
    name: str
    phone: str = ""  # lookup key
    vip: bool = False
    complaints_90d: int = 0
    registered_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RiderPing:
    at: datetime
    lat: float
    lng: float


@dataclass(frozen=True, kw_only=True)
class OrderRecord:
    order_no: str
    channel: str  # meituan | eleme | miniprogram | douyin | phone
    status: str  # placed | accepted | ready | picked_up | delivered | cancelled | refunded
    customer_id: str
    customer_name: str
    customer_phone: str  # lookup key
    merchant: str
    store: str
    store_id: str
    rider: str  # "" before a rider is assigned
    rider_id: str
    amount_fen: int
    address: str
    remarks: str
    placed_at: datetime
    promised_at: datetime
    delivered_at: datetime | None
    items: tuple[ItemView, ...] = ()
    timeline: tuple[TimelineStep, ...] = ()  # in time order, rider pings left out
    rider_pings: tuple[RiderPing, ...] = ()  # in time order

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True, kw_only=True)
class Binding:
    """A privacy number bound to an order: calls from it are ``party`` about ``order_no``."""

    virtual_number: str
    order_no: str
    party: str  # customer | rider | merchant
    valid_until: datetime


class OrderSource(Protocol):
    """What the screen pop needs from an order system. Methods may raise ``SourceError``."""

    name: str

    def parties(self, phone: str) -> list[Party]:
        """Everyone whose number this is: customers, riders and stores (a number may be all)."""
        ...

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        """The party's orders placed since ``since``, newest first, at most ``limit``."""
        ...

    def order(self, order_no: str) -> OrderRecord | None: ...

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        """The order a privacy number was bound to at ``at``, if any."""
        ...
