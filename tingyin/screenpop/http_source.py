"""An order source that reads a delivery platform's HTTP order API.

The screen pop asks this at ring time, before the call is answered, from a worker thread, so
every request is short: connecting, sending and each read wait at most ``timeout_s`` (0.3 s by
default), an answer whose body is still arriving after ``timeout_s`` is dropped, nothing is
retried, and any failure becomes a ``SourceError`` so the screen pop shows what it has.

The API a platform implements
=============================

Four ``GET`` endpoints under one base URL (``https://orders.example.com/tingyin/v1``). Answers
are JSON (``application/json``, UTF-8) with status 200. When a token is configured each request
carries ``Authorization: Bearer <token>``. Unknown fields are ignored, so a platform may send
more than listed. Timestamps are ISO-8601 *with* a zone (``2025-06-01T12:30:00+08:00`` or
``...Z``); a time without a zone is rejected. Ids may be JSON strings or numbers (read as text).
Phone numbers are lookup keys: E.164 (``+8613812345678``), or a service number's digits.

``GET {base}/parties?phone=%2B8613812345678``
    Everyone whose number this is (a number may be a customer, a rider and a store at once)::

        {"parties": [{"kind": "customer", "id": "c1", "name": "张三",
                      "phone": "+8613812345678", "vip": false, "complaints_90d": 0,
                      "registered_at": "2024-01-05T09:00:00+08:00"}]}

    ``kind`` is ``customer``, ``rider`` or ``merchant``; ``kind``, ``id`` and ``name`` are
    required, the rest optional (defaults: ``""``, ``false``, ``0``, ``null``). An unknown number
    is ``{"parties": []}`` with status 200; a 404 here means a wrong URL and is an error.

``GET {base}/orders?party_kind=customer&party_id=c1&since=2025-05-01T00:00:00%2B00:00&limit=10``
    The party's orders placed at or after ``since``, newest first, at most ``limit``::

        {"orders": [<order>, ...]}

``GET {base}/orders/{order_no}``
    ``{"order": <order>}``, or status 404 when there is no such order.

``GET {base}/bindings/{virtual_number}?at=2025-06-01T12:30:00%2B08:00``
    The order a privacy (virtual) number was bound to at ``at``, or status 404 when none::

        {"binding": {"virtual_number": "+8617000001234", "order_no": "E20250601001",
                     "party": "rider", "valid_until": "2025-06-01T14:00:00+08:00"}}

    ``party`` is who calls from that number about the order: ``customer``, ``rider`` or
    ``merchant``.

Path parts (``order_no``, ``virtual_number``) are percent-encoded, ``+`` included.

An ``<order>`` object::

    {"order_no": "E20250601001", "channel": "eleme", "status": "picked_up",
     "customer_id": "c1", "customer_name": "张三", "customer_phone": "+8613812345678",
     "merchant": "老王面馆", "store": "老王面馆(中关村店)", "store_id": "s9",
     "rider": "李四", "rider_id": "r7", "amount_fen": 3250,
     "address": "海淀区中关村大街1号", "remarks": "不要香菜",
     "placed_at": "2025-06-01T11:50:00+08:00", "promised_at": "2025-06-01T12:30:00+08:00",
     "delivered_at": null,
     "items": [{"name": "牛肉面", "quantity": 2, "unit_price_fen": 1500, "spec": "大碗"}],
     "timeline": [{"at": "2025-06-01T11:50:00+08:00", "kind": "placed", "actor": "customer",
                   "note": ""}],
     "rider_pings": [{"at": "2025-06-01T12:10:00+08:00", "lat": 39.98, "lng": 116.31}]}

Required: ``order_no``, ``channel`` (meituan | eleme | miniprogram | douyin | phone | …),
``status`` (placed | accepted | ready | picked_up | delivered | cancelled | refunded),
``customer_id``, ``customer_phone``, ``merchant``, ``store``, ``amount_fen`` (an integer, in
fen), ``placed_at`` and ``promised_at``. Optional: the other text fields (default ``""``; rider
fields stay empty before a rider is assigned), ``delivered_at`` (``null``), ``items``,
``timeline`` and ``rider_pings`` (``[]``). In ``items``, ``name``, ``quantity`` and
``unit_price_fen`` are required and ``spec`` optional; in ``timeline``, ``at``, ``kind`` and
``actor`` are required and ``note`` optional; a rider ping needs all three fields. Timeline
steps and rider pings are sorted by time here, and order lists newest first, whatever order they
came in.

Anything else (a status other than 200 or the two 404s above, a body that is not this JSON, a
missing field, a wrong type, a time without a zone) is reported as ``SourceError``.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Literal, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from tingyin.bus.context import ItemView, TimelineStep
from tingyin.privacy import mask_number
from tingyin.screenpop.sources import Binding, OrderRecord, Party, RiderPing, SourceError

MAX_BODY_BYTES = 4 * 1024 * 1024  # a screen pop never needs more; a bigger answer is a fault

_Envelope = TypeVar("_Envelope", bound="_Wire")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class _PartyIn(_Wire):
    kind: Literal["customer", "rider", "merchant"]
    id: str
    name: str
    phone: str = ""
    vip: bool = False
    complaints_90d: int = 0
    registered_at: AwareDatetime | None = None

    def record(self) -> Party:
        return Party(
            kind=self.kind,
            id=self.id,
            name=self.name,
            phone=self.phone,
            vip=self.vip,
            complaints_90d=self.complaints_90d,
            registered_at=self.registered_at,
        )


class _ItemIn(_Wire):
    name: str
    quantity: int
    unit_price_fen: int
    spec: str = ""


class _StepIn(_Wire):
    at: AwareDatetime
    kind: str
    actor: str
    note: str = ""


class _PingIn(_Wire):
    at: AwareDatetime
    lat: float
    lng: float


class _OrderIn(_Wire):
    order_no: str
    channel: str
    status: str
    customer_id: str
    customer_name: str = ""
    customer_phone: str
    merchant: str
    store: str
    store_id: str = ""
    rider: str = ""
    rider_id: str = ""
    amount_fen: int
    address: str = ""
    remarks: str = ""
    placed_at: AwareDatetime
    promised_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    items: list[_ItemIn] = []
    timeline: list[_StepIn] = []
    rider_pings: list[_PingIn] = []

    def record(self) -> OrderRecord:
        return OrderRecord(
            order_no=self.order_no,
            channel=self.channel,
            status=self.status,
            customer_id=self.customer_id,
            customer_name=self.customer_name,
            customer_phone=self.customer_phone,
            merchant=self.merchant,
            store=self.store,
            store_id=self.store_id,
            rider=self.rider,
            rider_id=self.rider_id,
            amount_fen=self.amount_fen,
            address=self.address,
            remarks=self.remarks,
            placed_at=self.placed_at,
            promised_at=self.promised_at,
            delivered_at=self.delivered_at,
            items=tuple(
                ItemView(
                    name=i.name, quantity=i.quantity, unit_price_fen=i.unit_price_fen, spec=i.spec
                )
                for i in self.items
            ),
            timeline=tuple(
                TimelineStep(at=s.at, kind=s.kind, actor=s.actor, note=s.note)
                for s in sorted(self.timeline, key=lambda s: s.at)
            ),
            rider_pings=tuple(
                RiderPing(at=p.at, lat=p.lat, lng=p.lng)
                for p in sorted(self.rider_pings, key=lambda p: p.at)
            ),
        )


class _BindingIn(_Wire):
    virtual_number: str
    order_no: str
    party: Literal["customer", "rider", "merchant"]
    valid_until: AwareDatetime


class _PartiesAnswer(_Wire):
    parties: list[_PartyIn]


class _OrdersAnswer(_Wire):
    orders: list[_OrderIn]


class _OrderAnswer(_Wire):
    order: _OrderIn


class _BindingAnswer(_Wire):
    binding: _BindingIn


def _aware(value: datetime, what: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value!r}")
    return value.isoformat()


def _segment(value: str) -> str:
    """One path part, percent-encoded (``/`` and ``+`` included)."""
    return quote(value, safe="")


class HttpOrderSource:
    """``OrderSource`` over a platform's order API (see the module docstring for the API).

    One ``httpx.Client`` is kept for the source's lifetime, so its keep-alive pool saves the TCP
    and TLS handshakes at ring time; it is safe to share between the lookup threads. A client
    passed in is used as it is (and not closed by ``close``); its own base URL, auth and timeouts
    are overridden by this source's per request.
    """

    name = "http"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 0.3,
        client: httpx.Client | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("order API base URL must look like http(s)://host/path")
        self._base = str(url.copy_with(query=None, fragment=None)).rstrip("/")
        # What error messages show: no credentials, no query.
        self._shown = str(url.copy_with(username=None, password=None, query=None, fragment=None))
        self._shown = self._shown.rstrip("/")
        self._timeout_s = timeout_s
        self._timeout = httpx.Timeout(timeout_s)
        self._headers = {"Accept": "application/json"}
        if token:  # "" means none, as an unset setting gives it
            if not (token.isascii() and token.isprintable() and " " not in token):
                raise ValueError("order API token must be printable ASCII without spaces")
            self._headers["Authorization"] = f"Bearer {token}"
        self._owns_client = client is None
        self._client = (
            client
            if client is not None
            else httpx.Client(
                timeout=self._timeout,
                # Calls come in bursts with quiet gaps: keep connections a while so a ring rarely
                # pays for a TCP/TLS handshake.
                limits=httpx.Limits(
                    max_connections=50, max_keepalive_connections=10, keepalive_expiry=30
                ),
            )
        )

    def __repr__(self) -> str:  # never show the token
        return f"HttpOrderSource({self._shown!r}, timeout_s={self._timeout_s})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpOrderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- OrderSource ---------------------------------------------------------------------------

    def parties(self, phone: str) -> list[Party]:
        answer = self._get("/parties", {"phone": phone}, _PartiesAnswer, shown="/parties")
        return [p.record() for p in answer.parties]

    def orders_of(self, party: Party, since: datetime, limit: int) -> list[OrderRecord]:
        if limit <= 0:
            return []
        params = {
            "party_kind": party.kind,
            "party_id": party.id,
            "since": _aware(since, "since"),
            "limit": str(limit),
        }
        answer = self._get("/orders", params, _OrdersAnswer, shown="/orders")
        records = [o.record() for o in answer.orders]
        records.sort(key=lambda r: r.placed_at, reverse=True)
        return records[:limit]

    def order(self, order_no: str) -> OrderRecord | None:
        path = f"/orders/{_segment(order_no)}"
        answer = self._get(path, {}, _OrderAnswer, shown=path, missing_ok=True)
        return None if answer is None else answer.order.record()

    def binding(self, virtual_number: str, at: datetime) -> Binding | None:
        path = f"/bindings/{_segment(virtual_number)}"
        shown = f"/bindings/{mask_number(virtual_number)}"
        params = {"at": _aware(at, "at")}
        answer = self._get(path, params, _BindingAnswer, shown=shown, missing_ok=True)
        if answer is None:
            return None
        b = answer.binding
        return Binding(
            virtual_number=b.virtual_number,
            order_no=b.order_no,
            party=b.party,
            valid_until=b.valid_until,
        )

    # -- transport -----------------------------------------------------------------------------

    @overload
    def _get(
        self,
        path: str,
        params: dict[str, str],
        model: type[_Envelope],
        *,
        shown: str,
        missing_ok: Literal[False] = False,
    ) -> _Envelope: ...

    @overload
    def _get(
        self,
        path: str,
        params: dict[str, str],
        model: type[_Envelope],
        *,
        shown: str,
        missing_ok: Literal[True],
    ) -> _Envelope | None: ...

    def _get(
        self,
        path: str,
        params: dict[str, str],
        model: type[_Envelope],
        *,
        shown: str,
        missing_ok: bool = False,
    ) -> _Envelope | None:
        """GET ``path`` and validate the answer; ``None`` for a 404 when ``missing_ok``.

        ``shown`` is the path as error messages print it (phone numbers masked, no query).
        """
        where = f"GET {self._shown}{shown}"
        deadline = time.monotonic() + self._timeout_s
        try:
            with self._client.stream(
                "GET",
                self._base + path,
                params=params,
                headers=self._headers,
                timeout=self._timeout,
                follow_redirects=False,
            ) as response:
                status = response.status_code
                if status != 200:
                    # Read the (short) error body anyway: a response closed unread takes its
                    # keep-alive connection with it, and most rings get a 404 from /bindings.
                    with contextlib.suppress(SourceError, httpx.HTTPError):
                        self._read(response, deadline, where)
                    if missing_ok and status == 404:
                        return None
                    raise SourceError(f"{where}: HTTP {status}")
                body = self._read(response, deadline, where)
        except httpx.TimeoutException as exc:
            raise SourceError(
                f"{where}: no answer within {self._timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise SourceError(f"{where}: {type(exc).__name__}: {exc}") from exc
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)[:5]
            )
            raise SourceError(f"{where}: unreadable answer: {problems}") from exc

    def _read(self, response: httpx.Response, deadline: float, where: str) -> bytes:
        """The body, within the deadline and the size cap (a trickling server cannot hold us)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise SourceError(f"{where}: answer larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise SourceError(f"{where}: answer took longer than {self._timeout_s:g} s")
        return b"".join(chunks)
