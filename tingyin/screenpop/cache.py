"""A short-lived cache in front of an order source.

A caller who rings back, a call transferred between queues, and the agent's page reloading all
ask the same questions within seconds; the cache answers them without another round trip to the
platform. Answers are kept ``ttl_s`` seconds (15 by default), so a screen pop is at most that
stale. "Not found" (``[]``, ``None``) is an answer and is kept; a ``SourceError`` is not, so the
next ring asks again.

The times in ``orders_of(since=…)`` and ``binding(at=…)`` move with the clock on every call, so
they are rounded down to the minute in the cache key; otherwise no two lookups would ever share
an entry. A cached binding whose ``valid_until`` has passed at the asked time is asked again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from cachetools import TTLCache

from tingyin.screenpop.sources import Binding, OrderRecord, OrderSource, Party

_OrdersKey = tuple[str, str, datetime, int]  # party kind, party id, since (minute), limit
_BindingKey = tuple[str, datetime]  # virtual number, at (minute)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


class CachedOrderSource:
    """An ``OrderSource`` that remembers another one's answers for ``ttl_s`` seconds.

    Safe to share between the lookup threads: the caches sit behind one lock, which is never
    held while the inner source is asked (two threads missing the same key at once may both ask
    it; the later answer wins). ``maxsize`` bounds each kind of lookup separately. ``timer`` is
    the clock the entries age by (tests pass a fake one).
    """

    def __init__(
        self,
        inner: OrderSource,
        ttl_s: float = 15.0,
        maxsize: int = 10_000,
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or maxsize <= 0:
            raise ValueError("ttl_s and maxsize must be positive")
        self.inner = inner
        self.name = inner.name
        self._lock = threading.Lock()
        self._parties: TTLCache[str, tuple[Party, ...], float] = TTLCache(maxsize, ttl_s, timer)
        self._orders: TTLCache[_OrdersKey, tuple[OrderRecord, ...], float] = TTLCache(
            maxsize, ttl_s, timer
        )
        self._order: TTLCache[str, OrderRecord | None, float] = TTLCache(maxsize, ttl_s, timer)
        self._binding: TTLCache[_BindingKey, Binding | None, float] = TTLCache(
            maxsize, ttl_s, timer
        )

    def __repr__(self) -> str:
        return f"CachedOrderSource({self.inner!r})"

    # -- OrderSource ---------------------------------------------------------------------------

    def parties(self, phone: str) -> list[Party]:
        with self._lock:
            hit = self._parties.get(phone)
        if hit is None:
            hit = tuple(self.inner.parties(phone))
            with self._lock:
                self._parties[phone] = hit
        return list(hit)

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        key = (party.kind, party.id, _minute(since), limit)
        with self._lock:
            hit = self._orders.get(key)
        if hit is None:
            hit = tuple(self.inner.orders_of(party, since, limit))
            with self._lock:
                self._orders[key] = hit
        return list(hit)

    def order(self, order_no: str) -> OrderRecord | None:
        with self._lock:
            try:
                return self._order[order_no]
            except KeyError:
                pass
        found = self.inner.order(order_no)
        with self._lock:
            self._order[order_no] = found
        return found

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        key = (virtual_number, _minute(at))
        with self._lock:
            try:
                cached = self._binding[key]
            except KeyError:
                pass
            else:
                if cached is None or cached.valid_until >= at:
                    return cached
        found = self.inner.binding(virtual_number, at)
        with self._lock:
            self._binding[key] = found
        return found

    # -- keeping it fresh ----------------------------------------------------------------------

    def invalidate(self, phone: str | None = None) -> None:
        """Forget what is known about ``phone`` (its parties, their orders); all when ``None``.

        For when the platform says something changed (an order webhook, an agent's edit).
        """
        if phone is None:
            self.clear()
            return
        with self._lock:
            known = self._parties.pop(phone, ())
            ids = {(p.kind, p.id) for p in known}
            for key, records in list(self._orders.items()):
                if key[:2] in ids or any(r.customer_phone == phone for r in records):
                    self._orders.pop(key, None)
            for order_no, record in list(self._order.items()):
                if record is not None and record.customer_phone == phone:
                    self._order.pop(order_no, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._parties.clear()
            self._orders.clear()
            self._order.clear()
            self._binding.clear()
