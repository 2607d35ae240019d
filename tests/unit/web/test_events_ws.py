"""/ws/events: login, bus events to the browser, expiry, and a slow browser not blocking."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tingyin.bus.events import CallEnded, CallRinging, DtmfReceived, WorkerReady, utcnow
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.web.auth import issue_token
from tingyin.web.events import Outbox, may_see, send_events

from .conftest import PASSWORD, SECRET_KEY, Login
from .support import app_bus

pytestmark = pytest.mark.timeout(30)


def ringing(call_id: str = "c-ws") -> CallRinging:
    return CallRinging(call_id=call_id, sip_call_id="s", worker=1, caller="13812345678",
                       dialed="4008001234")  # fmt: skip


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def subscribers(client: TestClient) -> int:
    return len(app_bus(client)._handlers)


@pytest.mark.parametrize("token", [None, "garbage", "expired"])
def test_the_socket_refuses_a_missing_or_bad_login(
    client: TestClient, db: Database, token: str | None
) -> None:
    if token == "expired":
        with db.session() as session:
            uid = session.query(User).filter_by(username="u-agent").one().id
        token = issue_token(SECRET_KEY, uid, "agent", 1, now=utcnow() - timedelta(minutes=2))
    url = "/ws/events" if token is None else f"/ws/events?token={token}"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url):
        pass
    assert refused.value.code == 4401
    assert subscribers(client) == 0


def test_a_call_published_on_the_bus_reaches_the_browser(client: TestClient, login: Login) -> None:
    token = token_of(login("agent"))
    with client.websocket_connect(f"/ws/events?token={token}") as ws:
        bus = app_bus(client)
        bus.publish(ringing())
        bus.publish(DtmfReceived(call_id="c-ws", digit="5"))
        bus.publish(CallEnded(call_id="c-ws", reason="hangup"))
        first: dict[str, Any] = ws.receive_json()
        assert first["type"] == "CallRinging"
        assert (first["call_id"], first["caller"], first["dialed"]) == (
            "c-ws",
            "13812345678",
            "4008001234",
        )
        assert [ws.receive_json()["type"] for _ in range(2)] == ["DtmfReceived", "CallEnded"]


def test_the_pages_cookie_logs_the_socket_in(client: TestClient) -> None:
    client.post("/api/auth/token", data={"username": "u-qa", "password": PASSWORD})
    with client.websocket_connect("/ws/events") as ws:
        app_bus(client).publish(ringing("c-cookie"))
        assert ws.receive_json()["call_id"] == "c-cookie"


def test_a_foreign_page_cannot_ride_the_cookie(client: TestClient) -> None:
    client.post("/api/auth/token", data={"username": "u-qa", "password": PASSWORD})
    headers = {"origin": "https://evil.example"}
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/events", headers=headers),
    ):
        pass
    assert refused.value.code == 4401


def test_the_socket_is_closed_when_the_login_expires(client: TestClient, db: Database) -> None:
    with db.session() as session:
        uid = session.query(User).filter_by(username="u-agent").one().id
    # Valid for 3 more seconds: enough to connect on a loaded machine, short for a test.
    token = issue_token(SECRET_KEY, uid, "agent", 1, now=utcnow() - timedelta(seconds=57))
    with client.websocket_connect(f"/ws/events?token={token}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_leaving_unsubscribes_from_the_bus(client: TestClient, login: Login) -> None:
    token = token_of(login("agent"))
    before = subscribers(client)
    with client.websocket_connect(f"/ws/events?token={token}"):
        assert subscribers(client) == before + 1
    deadline = time.monotonic() + 5
    while subscribers(client) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert subscribers(client) == before
    app_bus(client).publish(ringing())  # nobody left to send to: no error


def test_who_sees_what() -> None:
    worker = WorkerReady(worker=0, sip_host="127.0.0.1", sip_port=5070, pid=1)
    for role in ("agent", "supervisor", "qa", "admin"):
        assert may_see(role, ringing())
    assert [r for r in ("agent", "supervisor", "qa", "admin") if may_see(r, worker)] == [
        "supervisor",
        "admin",
    ]


def test_a_full_outbox_drops_the_oldest_and_counts() -> None:
    async def scenario() -> tuple[list[str], int]:
        outbox = Outbox(size=3)
        for n in range(5):
            outbox.offer(ringing(f"c-{n}"))  # never blocks, never raises
        kept = [outbox.queue.get_nowait() for _ in range(outbox.queue.qsize())]
        return [e.call_id for e in kept if isinstance(e, CallRinging)], outbox.dropped

    assert asyncio.run(scenario()) == (["c-2", "c-3", "c-4"], 2)


class GoneSocket:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        raise self.error


@pytest.mark.parametrize(
    "error", [WebSocketDisconnect(1001), RuntimeError("closed"), ConnectionResetError()]
)
def test_a_send_to_a_gone_browser_ends_quietly(error: Exception) -> None:
    async def scenario() -> list[str]:
        outbox = Outbox(size=1)
        outbox.offer(ringing("c-0"))
        outbox.offer(ringing("c-1"))  # drops c-0: the page is told before the next event
        socket = GoneSocket(error)
        await asyncio.wait_for(send_events(socket, outbox), 5)  # type: ignore[arg-type]
        return socket.sent

    assert asyncio.run(scenario()) == ['{"type": "dropped", "count": 1}']
