"""HttpOrderSource against a real HTTP server on 127.0.0.1 (stdlib, in a thread), httpx unmocked."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tingyin.bus.context import ItemView, TimelineStep
from tingyin.screenpop.http_source import HttpOrderSource
from tingyin.screenpop.sources import Binding, OrderRecord, OrderSource, Party, SourceError

CST = timezone(timedelta(hours=8))
PHONE = "+8613812345678"
TOKEN = "s3cret-token-value"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0  # before the headers
    trickle_s: float = 0.0  # between the body's bytes


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    peer_port: int


@dataclass
class FakePlatform:
    """A platform's order API: canned answers keyed by path (query ignored); records requests."""

    answers: dict[str, Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(
        self,
        path: str,
        payload: Any,
        status: int = 200,
        delay_s: float = 0.0,
        trickle_s: float = 0.0,
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.answers[path] = Answer(status, body, delay_s, trickle_s)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def __enter__(self) -> FakePlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real API does
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                platform.seen.append(
                    Seen(
                        parts.path,
                        parse_qs(parts.query),
                        self.headers.get("Authorization"),
                        self.client_address[1],
                    )
                )
                found = platform.answers.get(parts.path, Answer(404, b'{"error": "not found"}'))
                if found.delay_s:
                    time.sleep(found.delay_s)
                try:
                    self.send_response(found.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(found.body)))
                    self.end_headers()
                    if not found.trickle_s:
                        self.wfile.write(found.body)
                    for byte in found.body if found.trickle_s else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(found.trickle_s)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def order_json(order_no: str = "E1001", placed: str = "2025-06-01T11:50:00+08:00") -> Any:
    return {
        "order_no": order_no,
        "channel": "eleme",
        "status": "picked_up",
        "customer_id": "c1",
        "customer_name": "张三",
        "customer_phone": PHONE,
        "merchant": "老王面馆",
        "store": "老王面馆(中关村店)",
        "store_id": 9,  # a number: read as text
        "rider": "李四",
        "rider_id": "r7",
        "amount_fen": 3250,
        "address": "海淀区中关村大街1号",
        "remarks": "不要香菜",
        "placed_at": placed,
        "promised_at": "2025-06-01T12:30:00+08:00",
        "delivered_at": None,
        "items": [{"name": "牛肉面", "quantity": 2, "unit_price_fen": 1500, "spec": "大碗"}],
        "timeline": [  # out of order on purpose
            {"at": "2025-06-01T11:52:00+08:00", "kind": "accepted", "actor": "merchant"},
            {"at": "2025-06-01T03:50:00Z", "kind": "placed", "actor": "customer", "note": "app"},
        ],
        "rider_pings": [{"at": "2025-06-01T12:10:00+08:00", "lat": 39.98, "lng": 116.31}],
        "something_new": {"ignored": True},
    }


PARTY_JSON = {
    "kind": "customer",
    "id": "c1",
    "name": "张三",
    "phone": PHONE,
    "vip": True,
    "complaints_90d": 2,
    "registered_at": "2024-01-05T09:00:00+08:00",
}
CUSTOMER = Party(kind="customer", id="c1", name="张三", phone=PHONE)
NOW = datetime(2025, 6, 1, 12, 40, tzinfo=CST)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours *_PROXY variables; these tests must stay on 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform() as running:
        yield running


@pytest.fixture
def source(platform: FakePlatform) -> Iterator[HttpOrderSource]:
    with HttpOrderSource(platform.url + "/", token=TOKEN, timeout_s=0.3) as built:
        yield built


def test_is_an_order_source(source: HttpOrderSource) -> None:
    as_protocol: OrderSource = source
    assert as_protocol.name == "http"
    assert TOKEN not in repr(source)


def test_parties_parse_and_send_the_token(platform: FakePlatform, source: HttpOrderSource) -> None:
    rider = {"kind": "rider", "id": 77, "name": "李四"}
    platform.answer("/api/v1/parties", {"parties": [PARTY_JSON, rider]})

    parties = source.parties(PHONE)

    assert parties == [
        Party(
            kind="customer",
            id="c1",
            name="张三",
            phone=PHONE,
            vip=True,
            complaints_90d=2,
            registered_at=datetime(2024, 1, 5, 9, tzinfo=CST),
        ),
        Party(kind="rider", id="77", name="李四"),
    ]
    assert parties[0].registered_at is not None and parties[0].registered_at.tzinfo is not None
    (seen,) = platform.seen
    assert seen.path == "/api/v1/parties"
    assert seen.query == {"phone": [PHONE]}  # the "+" arrived as a plus, not a space
    assert seen.authorization == f"Bearer {TOKEN}"


def test_no_token_no_authorization_header(platform: FakePlatform) -> None:
    platform.answer("/api/v1/parties", {"parties": []})
    with HttpOrderSource(platform.url, token="") as anonymous:
        assert anonymous.parties(PHONE) == []
    assert platform.seen[0].authorization is None


def test_orders_of_parses_orders_newest_first(
    platform: FakePlatform, source: HttpOrderSource
) -> None:
    older = order_json("E1000", placed="2025-05-30T11:50:00+08:00")
    platform.answer("/api/v1/orders", {"orders": [older, order_json()]})
    since = NOW - timedelta(days=30)

    orders = source.orders_of(CUSTOMER, since, 10)

    assert [o.order_no for o in orders] == ["E1001", "E1000"]
    first = orders[0]
    assert isinstance(first, OrderRecord)
    assert first.store_id == "9"
    assert first.active
    assert first.placed_at == datetime(2025, 6, 1, 11, 50, tzinfo=CST)
    assert first.delivered_at is None
    assert first.items == (ItemView(name="牛肉面", quantity=2, unit_price_fen=1500, spec="大碗"),)
    assert [step.kind for step in first.timeline] == ["placed", "accepted"]
    assert first.timeline[0] == TimelineStep(
        at=datetime(2025, 6, 1, 3, 50, tzinfo=UTC), kind="placed", actor="customer", note="app"
    )
    assert first.rider_pings[0].lat == pytest.approx(39.98)
    stamps = [first.placed_at, first.promised_at, first.timeline[1].at, first.rider_pings[0].at]
    assert all(t.tzinfo is not None for t in stamps)
    (seen,) = platform.seen
    assert seen.query == {
        "party_kind": ["customer"],
        "party_id": ["c1"],
        "since": [since.isoformat()],
        "limit": ["10"],
    }


def test_orders_of_keeps_to_the_limit(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer("/api/v1/orders", {"orders": [order_json(f"E{i}") for i in range(5)]})
    assert len(source.orders_of(CUSTOMER, NOW - timedelta(days=1), 2)) == 2


def test_order_by_number_is_url_encoded(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer("/api/v1/orders/A%2FB%20C", {"order": order_json("A/B C")})
    found = source.order("A/B C")
    assert found is not None and found.order_no == "A/B C"
    assert platform.paths() == ["/api/v1/orders/A%2FB%20C"]


def test_binding_parses(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer(
        "/api/v1/bindings/%2B8617000001234",
        {
            "binding": {
                "virtual_number": "+8617000001234",
                "order_no": "E1001",
                "party": "rider",
                "valid_until": "2025-06-01T14:00:00+08:00",
            }
        },
    )
    found = source.binding("+8617000001234", NOW)
    assert found == Binding(
        virtual_number="+8617000001234",
        order_no="E1001",
        party="rider",
        valid_until=datetime(2025, 6, 1, 14, tzinfo=CST),
    )
    assert platform.seen[0].query == {"at": [NOW.isoformat()]}


def test_404_means_not_found(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer("/api/v1/parties", {"parties": []})
    assert source.parties("+8613900000000") == []
    assert source.order("NOPE") is None
    assert source.binding("+8617000009999", NOW) is None


def test_404_on_a_list_endpoint_is_an_error(source: HttpOrderSource) -> None:
    """A 404 on /parties means a wrong base URL, not an unknown caller: it must be loud."""
    with pytest.raises(SourceError, match=r"GET http://127\.0\.0\.1:\d+/api/v1/parties: HTTP 404"):
        source.parties(PHONE)


def test_server_error_is_a_source_error(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer("/api/v1/orders/E1", {"error": "boom"}, status=500)
    with pytest.raises(SourceError, match=r"/api/v1/orders/E1: HTTP 500") as caught:
        source.order("E1")
    assert TOKEN not in str(caught.value)


def test_slow_answer_times_out_quickly(platform: FakePlatform, source: HttpOrderSource) -> None:
    platform.answer("/api/v1/parties", {"parties": []}, delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"no answer within 0\.3 s"):
        source.parties(PHONE)
    assert time.monotonic() - started < 1.0


def test_trickling_answer_is_cut_off(platform: FakePlatform, source: HttpOrderSource) -> None:
    """Each byte comes within the read timeout, but the whole answer would take ~1.5 s."""
    platform.answer("/api/v1/parties", {"parties": []}, trickle_s=0.1)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"answer took longer than 0\.3 s"):
        source.parties(PHONE)
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_a_source_error() -> None:
    with socket.socket() as probe:  # a free port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with (
        HttpOrderSource(f"http://127.0.0.1:{port}", timeout_s=0.3) as nobody,
        pytest.raises(SourceError, match="ConnectError"),
    ):
        nobody.parties(PHONE)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"{not json", "json_invalid|Invalid JSON"),
        (b"<html>oops</html>", "Invalid JSON"),
        ({"orders": []}, "parties: Field required"),
        ({"parties": [{"kind": "customer", "id": "c1"}]}, r"parties\.0\.name: Field required"),
        ({"parties": [{"kind": "alien", "id": "c1", "name": "x"}]}, r"parties\.0\.kind"),
        (
            {"parties": [dict(PARTY_JSON, registered_at="2024-01-05T09:00:00")]},
            "timezone info",
        ),
    ],
)
def test_malformed_answers_are_source_errors(
    platform: FakePlatform, source: HttpOrderSource, payload: Any, problem: str
) -> None:
    platform.answer("/api/v1/parties", payload)
    with pytest.raises(SourceError, match=problem):
        source.parties(PHONE)


def test_order_missing_fields_or_naive_time(
    platform: FakePlatform, source: HttpOrderSource
) -> None:
    broken = order_json()
    del broken["amount_fen"]
    platform.answer("/api/v1/orders/E1", {"order": broken})
    with pytest.raises(SourceError, match=r"order\.amount_fen: Field required"):
        source.order("E1")
    naive = order_json()
    naive["timeline"][0]["at"] = "2025-06-01T11:52:00"
    platform.answer("/api/v1/orders/E2", {"order": naive})
    with pytest.raises(SourceError, match=r"order\.timeline\.0\.at"):
        source.order("E2")


def test_naive_arguments_are_refused(source: HttpOrderSource) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        source.binding("+8617000001234", datetime(2025, 6, 1, 12))


def test_keep_alive_reuses_one_connection(platform: FakePlatform, source: HttpOrderSource) -> None:
    """Most callers have no privacy-number binding: the 404 must not cost a new connection."""
    platform.answer("/api/v1/parties", {"parties": []})
    platform.answer("/api/v1/orders/E1", {"error": "boom"}, status=500)
    for _ in range(3):
        assert source.binding("+8617000009999", NOW) is None
        assert source.parties(PHONE) == []
    with pytest.raises(SourceError):
        source.order("E1")
    source.parties(PHONE)
    assert len(platform.seen) == 8
    assert len({seen.peer_port for seen in platform.seen}) == 1
