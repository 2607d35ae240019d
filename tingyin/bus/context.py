"""The caller context a screen pop shows: frozen dataclasses carried by ``CallerContextReady``.

Numbers in here are masked: the agent sees enough to confirm ("尾号5678"), logs never see more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class ItemView:
    name: str
    quantity: int
    unit_price_fen: int
    spec: str = ""


@dataclass(frozen=True, kw_only=True)
class TimelineStep:
    at: datetime
    kind: str  # placed | accepted | ready | picked_up | delivered | cancelled | refund_requested …
    actor: str  # customer | merchant | rider | platform | system
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Anomaly:
    """Something wrong in an order's timeline, measured at ring time."""

    kind: str  # late | not_accepted | merchant_slow | pickup_slow | rider_not_moving | …
    severity: str  # info | warning | critical
    message: str  # for the agent, in the product language
    minutes: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """The predicted reason for the call and the remedy the policy file suggests for it."""

    reason: str  # late | missing_item | quality | food_safety | refund | cancelled | … | unknown
    reason_label: str
    remedy: str  # coupon | refund | resend | urge_rider | contact_merchant | escalate | none
    remedy_label: str
    priority: str = "normal"  # normal | high | urgent
    amount_fen: int = 0
    rule: str = ""  # the policy rule that matched, for "why this suggestion?"


@dataclass(frozen=True, kw_only=True)
class OrderCard:
    order_no: str
    channel: str
    status: str
    merchant: str
    store: str
    rider: str
    amount_fen: int
    address: str
    remarks: str
    flagged_remarks: tuple[str, ...]  # words in the remarks an agent must not miss (过敏 …)
    placed_at: datetime
    promised_at: datetime
    delivered_at: datetime | None
    items: tuple[ItemView, ...]
    timeline: tuple[TimelineStep, ...]
    anomalies: tuple[Anomaly, ...]
    customer_phone: str = ""  # masked


@dataclass(frozen=True, kw_only=True)
class RecentCall:
    call_id: str
    started_at: datetime
    status: str
    end_reason: str = ""
