"""Who is calling and about what: the caller context built at ring time.

The number is normalised, tried as a platform privacy number first (bound to one order), then
looked up among customers, riders and stores; their recent orders are ranked, each order's
anomalies found, and the policy's first matching rule gives the predicted reason and remedy.
Calls from the same number come from our own call records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from tingyin.bus.context import Anomaly, OrderCard, RecentCall, Suggestion
from tingyin.bus.events import CallerContextReady
from tingyin.phones import PhoneNumber, normalise
from tingyin.screenpop.engine import (
    customer_flags,
    find_anomalies,
    flagged_words,
    rank_orders,
    suggest,
)
from tingyin.screenpop.policy import Policy
from tingyin.screenpop.sources import OrderRecord, OrderSource, Party
from tingyin.store import Database
from tingyin.store.models import Call, Ticket

KIND_PREFERENCE = {"customer": 0, "rider": 1, "merchant": 2}
RECENT_CALLS = 5
_SAME_NUMBER = (
    Call.caller_key == bindparam("key"),
    Call.started_at >= bindparam("since"),
    Call.id != bindparam("call_id"),
)
_OPEN_TICKETS = (
    select(Ticket.number)
    .where(
        Ticket.status != "closed",
        (Ticket.customer_phone == bindparam("phone"))
        | Ticket.order_no.in_(bindparam("orders", expanding=True)),
    )
    .order_by(Ticket.opened_at.desc())
    .limit(10)
)
_CALLS_SINCE = select(func.count()).select_from(Call).where(*_SAME_NUMBER)
_RECENT_CALLS = (
    select(Call.id, Call.started_at, Call.status, Call.end_reason)
    .where(*_SAME_NUMBER)
    .order_by(Call.started_at.desc())
    .limit(RECENT_CALLS)
)


@dataclass(frozen=True)
class ContextBuilder:
    source: OrderSource
    db: Database
    policy: Policy
    language: str = "zh"

    def for_call(
        self, call_id: str, raw_caller: str, now: datetime, heard: str = ""
    ) -> CallerContextReady:
        """The context of a ringing call; the lookup's errors reach the caller as ``error``."""
        started = time.perf_counter()
        number = normalise(raw_caller)
        context = self._lookup(call_id, number, now, heard)
        return replace(context, lookup_ms=round((time.perf_counter() - started) * 1000, 2))

    def for_order(self, order_no: str, now: datetime) -> CallerContextReady | None:
        """The context an agent sees after searching an order number (its customer's view)."""
        order = self.source.order(order_no)
        if order is None:
            return None
        party = self._party_of(order, "customer")
        number = normalise(order.customer_phone)
        return self._build("", number, party, [order], now, via_binding=False, heard="")

    def rebuild(self, context: CallerContextReady, now: datetime, heard: str) -> Suggestion | None:
        """A new suggestion for an ongoing call, given what the caller has said so far."""
        first = context.orders[0] if context.orders else None
        record = self.source.order(first.order_no) if first is not None else None
        anomalies = first.anomalies if first is not None else ()
        return suggest(
            self.policy,
            caller_kind=context.caller_kind,
            order=record,
            anomalies=anomalies,
            flags=context.flags,
            now=now,
            heard=heard,
        )

    # -- steps --------------------------------------------------------------------------------
    def _lookup(
        self, call_id: str, number: PhoneNumber, now: datetime, heard: str
    ) -> CallerContextReady:
        if not number.usable:
            return self._build(call_id, number, None, [], now, via_binding=False, heard=heard)
        binding = self.source.binding(number.key, now)
        if binding is not None:
            order = self.source.order(binding.order_no)
            if order is not None:
                party = self._party_of(order, binding.party)
                return self._build(call_id, number, party, [order], now, True, heard)
        parties = self.source.parties(number.key)
        if not parties:
            return self._build(call_id, number, None, [], now, via_binding=False, heard=heard)
        party, orders = self._choose(parties, now)
        return self._build(call_id, number, party, orders, now, via_binding=False, heard=heard)

    def _choose(self, parties: list[Party], now: datetime) -> tuple[Party, list[OrderRecord]]:
        """One number may be a customer and a rider: prefer whoever has an order in progress."""
        since = now - timedelta(days=self.policy.thresholds.history_days)
        limit = self.policy.thresholds.max_orders * 2
        best: tuple[tuple[int, int], Party, list[OrderRecord]] | None = None
        for party in parties:
            orders = self.source.orders_of(party, since, limit)
            key = (0 if any(o.active for o in orders) else 1, KIND_PREFERENCE.get(party.kind, 9))
            if best is None or key < best[0]:
                best = (key, party, orders)
        assert best is not None
        return best[1], best[2]

    def _party_of(self, order: OrderRecord, kind: str) -> Party:
        if kind == "customer":
            for party in self.source.parties(order.customer_phone):
                if party.kind == "customer" and party.id == order.customer_id:
                    return party
            return Party(kind="customer", id=order.customer_id, name=order.customer_name)
        if kind == "rider":
            return Party(kind="rider", id=order.rider_id, name=order.rider)
        return Party(kind="merchant", id=order.store_id, name=f"{order.merchant}（{order.store}）")

    def _build(
        self,
        call_id: str,
        number: PhoneNumber,
        party: Party | None,
        orders: list[OrderRecord],
        now: datetime,
        via_binding: bool,
        heard: str,
    ) -> CallerContextReady:
        thresholds = self.policy.thresholds
        if party is not None and not via_binding:
            since = now - timedelta(days=thresholds.history_days)
            orders = orders or self.source.orders_of(party, since, thresholds.max_orders * 2)
        elif party is not None:  # the bound order first, then the party's other recent ones
            since = now - timedelta(days=thresholds.history_days)
            more = self.source.orders_of(party, since, thresholds.max_orders * 2)
            orders = orders + [o for o in more if o.order_no != orders[0].order_no]
        anomalies = {o.order_no: find_anomalies(o, now, thresholds, self.language) for o in orders}
        ranked = rank_orders(orders, anomalies)[: thresholds.max_orders]
        if via_binding:  # the privacy number says which order the call is about
            ranked = orders[:1] + [o for o in ranked if o.order_no != orders[0].order_no]
            ranked = ranked[: thresholds.max_orders]
        flags = customer_flags(party, now, thresholds)
        caller_kind = party.kind if party is not None else "unknown"
        first = ranked[0] if ranked else None
        suggestion = suggest(
            self.policy,
            caller_kind=caller_kind,
            order=first,
            anomalies=anomalies.get(first.order_no, ()) if first else (),
            flags=flags,
            now=now,
            heard=heard,
        )
        calls_24h, recent = self._calls(number.key, call_id, now)
        customer_phone = (
            number.key if caller_kind == "customer" else (first.customer_phone if first else "")
        )
        if via_binding and first is not None:
            customer_phone = first.customer_phone
        return CallerContextReady(
            call_id=call_id,
            caller=number.masked,
            number_kind=number.kind,
            caller_kind=caller_kind,
            name=party.name if party is not None else "",
            flags=flags,
            via_binding=via_binding,
            orders=tuple(self._card(o, anomalies[o.order_no]) for o in ranked),
            calls_24h=calls_24h,
            recent_calls=recent,
            open_tickets=self._open_tickets(customer_phone, [o.order_no for o in ranked]),
            suggestion=suggestion,
            source=self.source.name,
        )

    def _card(self, order: OrderRecord, anomalies: tuple[Anomaly, ...]) -> OrderCard:
        return OrderCard(
            order_no=order.order_no,
            channel=order.channel,
            status=order.status,
            merchant=order.merchant,
            store=order.store,
            rider=order.rider,
            amount_fen=order.amount_fen,
            address=order.address,
            remarks=order.remarks,
            flagged_remarks=flagged_words(order.remarks, self.policy.words.flag),
            placed_at=order.placed_at,
            promised_at=order.promised_at,
            delivered_at=order.delivered_at,
            items=order.items,
            timeline=order.timeline,
            anomalies=anomalies,
            customer_phone=normalise(order.customer_phone).masked,
        )

    def _open_tickets(self, phone: str, order_nos: list[str]) -> tuple[str, ...]:
        """Numbers of the caller's tickets not yet closed (by their number or their orders)."""
        if not phone and not order_nos:
            return ()
        params = {"phone": phone or None, "orders": order_nos or [""]}
        with self.db.engine.connect() as conn:
            return tuple(conn.execute(_OPEN_TICKETS, params).scalars())

    def _calls(self, key: str, call_id: str, now: datetime) -> tuple[int, tuple[RecentCall, ...]]:
        """Calls from this number: how many in the repeat window, and the latest few."""
        if not key:
            return 0, ()
        window = now - timedelta(hours=self.policy.thresholds.repeat_call_hours)
        history = now - timedelta(days=self.policy.thresholds.history_days)
        params = {"key": key, "call_id": call_id}
        with self.db.engine.connect() as conn:
            count = conn.execute(_CALLS_SINCE, params | {"since": window}).scalar()
            rows = conn.execute(_RECENT_CALLS, params | {"since": history}).all()
        recent = tuple(
            RecentCall(call_id=r.id, started_at=r.started_at, status=r.status,
                       end_reason=r.end_reason or "")
            for r in rows
        )  # fmt: skip
        return int(count or 0), recent
