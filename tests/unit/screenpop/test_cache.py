"""CachedOrderSource: in front of the real HTTP source and a real server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from tests.unit.screenpop.test_http_source import (
    CST,
    CUSTOMER,
    PARTY_JSON,
    PHONE,
    FakePlatform,
    order_json,
)
from tingyin.screenpop.cache import CachedOrderSource
from tingyin.screenpop.http_source import HttpOrderSource
from tingyin.screenpop.sources import OrderSource, SourceError

VIRTUAL = "+8617000001234"
BINDING_PATH = "/api/v1/bindings/%2B8617000001234"
NOW = datetime(2025, 6, 1, 12, 40, 5, tzinfo=CST)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform() as running:
        running.answer("/api/v1/parties", {"parties": [PARTY_JSON]})
        running.answer("/api/v1/orders", {"orders": [order_json()]})
        running.answer("/api/v1/orders/E1001", {"order": order_json()})
        yield running


@pytest.fixture
def http(platform: FakePlatform) -> Iterator[HttpOrderSource]:
    # trust_env=False: no *_PROXY variable can send this off 127.0.0.1.
    with httpx.Client(trust_env=False) as client:
        yield HttpOrderSource(platform.url, client=client, timeout_s=0.5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cached(http: HttpOrderSource, clock: FakeClock) -> CachedOrderSource:
    return CachedOrderSource(http, ttl_s=15.0, timer=clock)


def test_is_an_order_source_with_the_inner_name(cached: CachedOrderSource) -> None:
    as_protocol: OrderSource = cached
    assert as_protocol.name == "http"


def test_second_call_is_served_from_the_cache(
    platform: FakePlatform, cached: CachedOrderSource
) -> None:
    first = cached.parties(PHONE)
    assert cached.parties(PHONE) == first
    assert cached.orders_of(CUSTOMER, NOW, 5) == cached.orders_of(CUSTOMER, NOW, 5)
    order = cached.order("E1001")
    assert order is not None and cached.order("E1001") is order
    assert platform.paths() == ["/api/v1/parties", "/api/v1/orders", "/api/v1/orders/E1001"]


def test_returned_lists_are_copies(cached: CachedOrderSource) -> None:
    cached.parties(PHONE).clear()
    assert len(cached.parties(PHONE)) == 1


def test_times_in_the_same_minute_share_an_entry(
    platform: FakePlatform, cached: CachedOrderSource
) -> None:
    cached.orders_of(CUSTOMER, NOW, 5)
    cached.orders_of(CUSTOMER, NOW + timedelta(seconds=40), 5)
    assert len(platform.seen) == 1
    cached.orders_of(CUSTOMER, NOW + timedelta(minutes=1), 5)  # next minute
    cached.orders_of(CUSTOMER, NOW, 3)  # another limit
    assert len(platform.seen) == 3


def test_entries_expire_after_ttl(
    platform: FakePlatform, cached: CachedOrderSource, clock: FakeClock
) -> None:
    cached.parties(PHONE)
    clock.now += 14.9
    cached.parties(PHONE)
    assert len(platform.seen) == 1
    clock.now += 0.2
    cached.parties(PHONE)
    assert len(platform.seen) == 2


def test_expiry_with_the_real_clock(platform: FakePlatform, http: HttpOrderSource) -> None:
    cached = CachedOrderSource(http, ttl_s=0.2)
    cached.order("E1001")
    cached.order("E1001")
    assert len(platform.seen) == 1
    threading.Event().wait(0.3)
    cached.order("E1001")
    assert len(platform.seen) == 2


def test_not_found_is_cached(platform: FakePlatform, cached: CachedOrderSource) -> None:
    assert cached.order("NOPE") is None
    assert cached.order("NOPE") is None
    assert cached.binding(VIRTUAL, NOW) is None
    assert cached.binding(VIRTUAL, NOW) is None
    assert len(platform.seen) == 2


def test_errors_are_not_cached(platform: FakePlatform, cached: CachedOrderSource) -> None:
    platform.answer("/api/v1/parties", {"error": "down"}, status=503)
    for _ in range(2):
        with pytest.raises(SourceError, match="HTTP 503"):
            cached.parties(PHONE)
    assert len(platform.seen) == 2
    platform.answer("/api/v1/parties", {"parties": [PARTY_JSON]})
    assert len(cached.parties(PHONE)) == 1


def test_a_lapsed_binding_is_asked_again(platform: FakePlatform, cached: CachedOrderSource) -> None:
    valid_until = NOW + timedelta(seconds=10)
    binding = {
        "virtual_number": VIRTUAL,
        "order_no": "E1001",
        "party": "rider",
        "valid_until": valid_until.isoformat(),
    }
    platform.answer(BINDING_PATH, {"binding": binding})
    found = cached.binding(VIRTUAL, NOW)
    assert found is not None and found.valid_until == valid_until
    assert cached.binding(VIRTUAL, NOW + timedelta(seconds=5)) == found
    assert len(platform.seen) == 1
    platform.answer(BINDING_PATH, {"error": "gone"}, status=404)
    assert cached.binding(VIRTUAL, NOW + timedelta(seconds=20)) is None  # same minute, lapsed
    assert len(platform.seen) == 2


def test_invalidate_one_phone(platform: FakePlatform, cached: CachedOrderSource) -> None:
    cached.parties(PHONE)
    cached.orders_of(CUSTOMER, NOW, 5)
    cached.order("E1001")
    cached.order("NOPE")
    cached.invalidate(PHONE)
    cached.parties(PHONE)
    cached.orders_of(CUSTOMER, NOW, 5)
    cached.order("E1001")
    cached.order("NOPE")  # not this phone's: still cached
    assert platform.paths().count("/api/v1/orders/NOPE") == 1
    assert len(platform.seen) == 7


def test_clear_and_invalidate_all(platform: FakePlatform, cached: CachedOrderSource) -> None:
    cached.parties(PHONE)
    cached.invalidate()
    cached.parties(PHONE)
    cached.clear()
    cached.parties(PHONE)
    assert len(platform.seen) == 3


def test_shared_between_threads(platform: FakePlatform, cached: CachedOrderSource) -> None:
    cached.parties(PHONE)
    errors: list[BaseException] = []

    def ring() -> None:
        try:
            for _ in range(200):
                assert cached.parties(PHONE)[0].id == "c1"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ring) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(platform.seen) == 1


def test_refuses_nonsense_settings(http: HttpOrderSource) -> None:
    with pytest.raises(ValueError, match="positive"):
        CachedOrderSource(http, ttl_s=0)
