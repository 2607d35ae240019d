"""Ticket webhooks against a real HTTP receiver and a migrated SQLite store: the outbox row
commits with the ticket, the POST is signed and carries no customer data, failures back off and
run out."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from tingyin.store import Database
from tingyin.store.models import Ticket, WebhookDelivery
from tingyin.tickets.actions import NewTicket, change_status, create_ticket
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.webhooks import WebhookSender, enqueue, sign, verify

NOW = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, a Tuesday
SECRET = b"whsec-unit-test-0123456789"
PHONE = "+8613800138000"
NAME = "王小明"
ENV = "TINGYIN_WEBHOOK_SECRET_MERCHANT"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A party's system: records every POST; answers 500 to the first ``fail_first``."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(Received(dict(self.headers.items()), body))
                failing = len(state.requests) <= state.fail_first
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/tingyin")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def with_webhook(url: str, party: str = "merchant_kitchen") -> TicketPolicy:
    policy = load_ticket_policy()
    spec = policy.parties[party].model_copy(update={"webhook_url": url})
    return policy.model_copy(update={"parties": {**policy.parties, party: spec}})


def new_ticket(category: str = "missing_item", order_no: str = "DD20270302001") -> NewTicket:
    return NewTicket(
        category=category, description="少了一份米饭", order_no=order_no,
        customer_phone=PHONE, customer_name=NAME,
    )  # fmt: skip


def open_ticket(
    db: Database,
    policy: TicketPolicy,
    category: str = "missing_item",
    order_no: str = "DD20270302001",
) -> Ticket:
    with db.session() as session:
        new = new_ticket(category, order_no)
        return create_ticket(session, policy, new, actor=None, now=NOW).ticket


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_failed_post_backs_off_then_arrives_signed_and_without_customer_data(
    db: Database, receiver: Receiver
) -> None:
    receiver.fail_first = 1
    policy = with_webhook(receiver.url)
    ticket = open_ticket(db, policy)
    sender = WebhookSender(db, policy, secrets={"merchant_kitchen": SECRET})

    assert sender.deliver_due(NOW) == 1
    [row] = deliveries(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    assert row.next_attempt_at == NOW + timedelta(seconds=10)
    assert sender.deliver_due(NOW + timedelta(seconds=9)) == 0  # not due yet

    later = NOW + timedelta(seconds=10)
    assert sender.deliver_due(later) == 1
    [row] = deliveries(db)
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 2, later)
    assert sender.deliver_due(later + timedelta(hours=1)) == 0  # nothing owed any more

    assert len(receiver.requests) == 2
    got = receiver.requests[-1]
    ts, signature = got.headers["X-Tingyin-Timestamp"], got.headers["X-Tingyin-Signature"]
    assert got.headers["Content-Type"] == "application/json"
    assert int(ts) == int(later.timestamp())
    assert signature == f"v1={sign(SECRET, int(ts), got.body)}"
    assert verify(SECRET, int(ts), got.body, signature, now=later)
    assert not verify(b"another-secret", int(ts), got.body, signature, now=later)
    assert not verify(SECRET, int(ts), got.body + b" ", signature, now=later)
    assert not verify(SECRET, int(ts), got.body, signature, now=later + timedelta(minutes=6))

    payload = json.loads(got.body)
    assert got.headers["X-Tingyin-Delivery"] == payload["delivery_id"] == row.payload["delivery_id"]
    # Both attempts are the same delivery: the receiver dedupes on its id.
    assert receiver.requests[0].headers["X-Tingyin-Delivery"] == payload["delivery_id"]
    assert payload == {
        "delivery_id": payload["delivery_id"],
        "event": "ticket.created",
        "ticket_number": ticket.number,
        "category": "missing_item",
        "status": "accepted",
        "priority": ticket.priority,
        "order_no": "DD20270302001",
        "responsible_party": "merchant_kitchen",
        "opened_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        "compensation_fen": 0,
    }
    text = got.body.decode()
    assert "13800138000" not in text
    assert NAME not in text


def test_a_status_change_is_posted_too(db: Database, receiver: Receiver) -> None:
    policy = with_webhook(receiver.url)
    ticket = open_ticket(db, policy)
    with db.session() as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        change_status(session, policy, row, "in_progress", actor=None, now=NOW + timedelta(1))
    sender = WebhookSender(db, policy, secrets={"merchant_kitchen": SECRET})
    assert sender.deliver_due(NOW + timedelta(1)) == 2
    sent = [json.loads(r.body) for r in receiver.requests]
    assert [(p["event"], p["status"]) for p in sent] == [
        ("ticket.created", "accepted"),
        ("ticket.status", "in_progress"),
    ]
    assert len({p["delivery_id"] for p in sent}) == 2
    assert [d.status for d in deliveries(db)] == ["delivered", "delivered"]


def test_the_attempts_run_out_and_the_delivery_fails(
    db: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail_first = 100
    policy = with_webhook(receiver.url)
    open_ticket(db, policy)
    sender = WebhookSender(
        db, policy, secrets={"merchant_kitchen": SECRET}, max_attempts=3, backoff_s=(5, 60)
    )
    now = NOW
    with caplog.at_level(logging.ERROR, logger="tingyin.tickets.webhooks"):
        for wait in (5, 60, 0):
            assert sender.deliver_due(now) == 1
            [row] = deliveries(db)
            now += timedelta(seconds=wait)
            if wait:
                assert (row.status, row.next_attempt_at) == ("pending", now)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 500")
    assert sender.deliver_due(now + timedelta(days=1)) == 0
    assert len(receiver.requests) == 3
    assert "failed after 3 attempts" in caplog.text
    assert SECRET.decode() not in caplog.text


def test_an_unreachable_party_is_retried_with_the_error_class(db: Database) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = with_webhook(f"http://127.0.0.1:{port}/closed")
    open_ticket(db, policy)
    open_ticket(db, policy, "quality", "DD20270302002")  # not a repeat
    sender = WebhookSender(db, policy, secrets={"merchant_kitchen": SECRET}, timeout_s=2)
    # The second delivery to the dead URL waits for the next pass instead of a second timeout.
    assert sender.deliver_due(NOW) == 1
    first, second = deliveries(db)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, "ConnectError")
    assert (second.attempts, second.next_attempt_at) == (0, NOW)


def test_a_missing_secret_fails_the_delivery_without_posting(
    db: Database,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    policy = with_webhook(receiver.url)
    open_ticket(db, policy)
    open_ticket(db, policy, "quality", "DD20270302002")  # not a repeat
    with caplog.at_level(logging.ERROR, logger="tingyin.tickets.webhooks"):
        sender = WebhookSender(db, policy)
        assert sender.deliver_due(NOW) == 2
    assert receiver.requests == []
    assert [(d.status, d.last_error) for d in deliveries(db)] == [
        ("failed", f"secret env var {ENV} not set"),
    ] * 2
    assert caplog.text.count(ENV) == 1  # logged once


def test_the_secret_comes_from_the_environment_variable_the_policy_names(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "from-the-environment")
    policy = with_webhook(receiver.url)
    open_ticket(db, policy)
    assert WebhookSender(db, policy).deliver_due(NOW) == 1
    [got] = receiver.requests
    ts = int(got.headers["X-Tingyin-Timestamp"])
    signature = got.headers["X-Tingyin-Signature"]
    assert verify(b"from-the-environment", ts, got.body, signature, now=NOW)


def test_a_party_without_a_url_is_owed_nothing(db: Database) -> None:
    policy = with_webhook("https://merchant.example/hooks", party="delivery")
    ticket = open_ticket(db, policy)  # missing_item → merchant_kitchen, which has no URL
    assert ticket.responsible_party == "merchant_kitchen"
    assert deliveries(db) == []
    with db.session() as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        assert enqueue(session, policy, row, "ticket.status", now=NOW) is None


def test_the_ticket_and_its_delivery_commit_together(db: Database, receiver: Receiver) -> None:
    policy = with_webhook(receiver.url)
    with pytest.raises(RuntimeError), db.session() as session:
        create_ticket(session, policy, new_ticket(), actor=None, now=NOW)
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        raise RuntimeError("the request failed after the ticket was written")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert WebhookSender(db, policy, secrets={"merchant_kitchen": SECRET}).deliver_due(NOW) == 0
    assert receiver.requests == []


def test_run_delivers_until_stopped_and_survives_a_failed_pass(
    db: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    policy = with_webhook(receiver.url)
    open_ticket(db, policy)
    sender = WebhookSender(db, policy, secrets={"merchant_kitchen": SECRET})
    real = sender.deliver_due
    calls = 0

    def flaky(now: datetime) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("database is locked")
        return real(now)

    sender.deliver_due = flaky  # type: ignore[method-assign]

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop, clock=lambda: NOW, interval_s=0.01))
        for _ in range(500):
            if receiver.requests:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    with caplog.at_level(logging.ERROR, logger="tingyin.tickets.webhooks"):
        asyncio.run(main())
    assert "webhook delivery pass failed" in caplog.text
    assert len(receiver.requests) == 1
    assert [d.status for d in deliveries(db)] == ["delivered"]


def test_verify_takes_the_header_as_received() -> None:
    body = b'{"event":"ticket.created"}'
    ts = int(NOW.timestamp())
    good = sign(SECRET, ts, body)
    assert verify(SECRET, str(ts), body, f"v1=deadbeef, v1={good}", now=NOW.timestamp())
    assert not verify(SECRET, "not-a-number", body, f"v1={good}", now=NOW)
    assert not verify(SECRET, ts, body, f"v0={good}", now=NOW)
    assert not verify(SECRET, ts, body, "", now=NOW)
