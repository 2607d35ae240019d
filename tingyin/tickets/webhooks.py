"""Webhooks: a responsible party's system (a merchant's, the rider team's) hears about its tickets.

``enqueue`` adds an outbox row (``WebhookDelivery``) in the caller's transaction, so a ticket
change and the POST it owes commit together or not at all. ``WebhookSender`` posts the rows that
are due, outside any transaction, and retries with backoff until the party answers 2xx or the
attempts run out. Delivery is at least once: receivers dedupe on ``X-Tingyin-Delivery``.

Each POST is signed Stripe-style: ``X-Tingyin-Signature: v1=<hex>``, the HMAC-SHA256 of
``f"{timestamp}.".encode() + body`` with the party's secret, the timestamp in
``X-Tingyin-Timestamp``; ``verify`` checks one (for receivers and tests). The payload names the
ticket and its order, never the customer's phone or name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.bus.events import utcnow
from tingyin.store import Database
from tingyin.store.models import Ticket, WebhookDelivery
from tingyin.tickets.policy import TicketPolicy

log = logging.getLogger(__name__)

BACKOFF_S = (10, 30, 120, 600, 1800, 3600, 7200)
BATCH = 50
ERROR_CHARS = 255


def enqueue(
    session: Session, policy: TicketPolicy, ticket: Ticket, event: str, *, now: datetime
) -> WebhookDelivery | None:
    """Owe the ticket's responsible party a POST of ``event``; None: the party has no webhook."""
    party = policy.parties.get(ticket.responsible_party)
    if party is None or not party.webhook_url:
        return None
    payload: dict[str, Any] = {
        "delivery_id": str(uuid.uuid4()),
        "event": event,
        "ticket_number": ticket.number,
        "category": ticket.category,
        "status": ticket.status,
        "priority": ticket.priority,
        "order_no": ticket.order_no,
        "responsible_party": ticket.responsible_party,
        "opened_at": ticket.opened_at.astimezone(UTC).isoformat(),
        "updated_at": ticket.updated_at.astimezone(UTC).isoformat(),
        "compensation_fen": ticket.compensation_fen,
    }
    delivery = WebhookDelivery(
        ticket_id=ticket.id, party=ticket.responsible_party, url=party.webhook_url, event=event,
        payload=payload, status="pending", attempts=0, next_attempt_at=now, last_error="",
        created_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return delivery


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``."""
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    timestamp: int | str,
    body: bytes,
    header: str,
    now: datetime | float,
    tolerance_s: int = 300,
) -> bool:
    """Whether ``header`` (``v1=<hex>``, several joined by commas) signs ``body`` at
    ``timestamp``, and the timestamp is within ``tolerance_s`` of ``now`` (replays are refused)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    at = now.timestamp() if isinstance(now, datetime) else now
    if abs(at - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    found = False
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            found = True
    return found


def headers_for(secret: bytes, timestamp: int, body: bytes, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Tingyin-Timestamp": str(timestamp),
        "X-Tingyin-Signature": f"v1={sign(secret, timestamp, body)}",
        "X-Tingyin-Delivery": delivery_id,
    }


@dataclass(frozen=True)
class _Due:
    id: int
    party: str
    url: str
    payload: dict[str, Any]
    attempts: int


class WebhookSender:
    """Posts due deliveries; ``run`` is its loop in the hub, ``deliver_due`` one pass (tests).

    Secrets come from the environment variables the policy names (read here, once), or from
    ``secrets`` (party → secret). A party without one gets nothing unsigned: its deliveries fail.
    """

    def __init__(
        self,
        db: Database,
        policy: TicketPolicy,
        *,
        secrets: Mapping[str, bytes] | None = None,
        client: httpx.Client | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 8,
        backoff_s: Sequence[float] = BACKOFF_S,
        batch: int = BATCH,
    ) -> None:
        if max_attempts < 1 or not backoff_s:
            raise ValueError("max_attempts must be at least 1 and backoff_s not empty")
        self.db = db
        self.policy = policy
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = tuple(backoff_s)
        self.batch = batch
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._halt = threading.Event()
        self._reported: set[str] = set()
        if secrets is None:
            secrets = {
                name: value.encode()
                for name, spec in policy.parties.items()
                if spec.webhook_secret_env and (value := os.environ.get(spec.webhook_secret_env))
            }
        self._secrets = dict(secrets)
        for name, spec in policy.parties.items():
            if spec.webhook_url and name not in self._secrets:
                self._report(name)

    def deliver_due(self, now: datetime) -> int:
        """One pass: POST the pending deliveries due at ``now``, oldest first, at most ``batch``.

        Returns how many were attempted. After a URL fails, the pass leaves its other deliveries
        for the next one (a dead endpoint costs one timeout a pass, not one a delivery).
        """
        with self.db.session() as session:
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id)
                .limit(self.batch)
            ).all()
            due = [_Due(r.id, r.party, r.url, dict(r.payload), r.attempts) for r in rows]
        failing: set[str] = set()
        attempted = 0
        for item in due:
            if self._halt.is_set():
                break
            if item.url in failing:
                continue
            attempted += 1
            secret = self._secrets.get(item.party)
            if secret is None:
                self._record(item, self._no_secret(item.party), now, final=True)
                continue
            error = self._post(item, secret, now)
            if error is not None:
                failing.add(item.url)
            self._record(item, error, now)
        return attempted

    async def run(
        self,
        stop: asyncio.Event,
        clock: Callable[[], datetime] = utcnow,
        interval_s: float = 1.0,
    ) -> None:
        """Deliver until ``stop`` is set (a pass under way ends after its current POST); a failed
        pass is logged and the loop goes on. Closes the sender's own HTTP client at the end."""
        self._halt.clear()

        async def halt_on_stop() -> None:
            await stop.wait()
            self._halt.set()

        watcher = asyncio.create_task(halt_on_stop())
        try:
            while not stop.is_set():
                attempted = 0
                try:
                    attempted = await asyncio.to_thread(self.deliver_due, clock())
                except Exception:
                    log.exception("webhook delivery pass failed")
                if attempted < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), interval_s)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self.close()

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    # -- one delivery ----------------------------------------------------------------------
    def _post(self, item: _Due, secret: bytes, now: datetime) -> str | None:
        """None when the party took it; otherwise why not (never the secret)."""
        body = json.dumps(item.payload, ensure_ascii=False, separators=(",", ":")).encode()
        delivery_id = str(item.payload.get("delivery_id", item.id))
        headers = headers_for(secret, int(now.timestamp()), body, delivery_id)
        try:
            response = self._client.post(
                item.url, content=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _record(self, item: _Due, error: str | None, now: datetime, *, final: bool = False) -> None:
        with self.db.session() as session:
            row = session.get(WebhookDelivery, item.id)
            if row is None or row.status != "pending":
                return
            if error is None:
                row.attempts = item.attempts + 1
                row.status, row.delivered_at, row.last_error = "delivered", now, ""
                return
            row.last_error = error[:ERROR_CHARS]
            if final:
                row.status = "failed"
                return
            row.attempts = item.attempts + 1
            if row.attempts >= self.max_attempts:
                row.status = "failed"
                log.error(
                    "webhook delivery %s (ticket %s) to %s failed after %s attempts: %s",
                    row.id, row.ticket_id, row.party, row.attempts, error,
                )  # fmt: skip
                return
            wait = self.backoff_s[min(row.attempts, len(self.backoff_s)) - 1]
            row.next_attempt_at = now + timedelta(seconds=wait)

    def _no_secret(self, party: str) -> str:
        self._report(party)
        spec = self.policy.parties.get(party)
        if spec is None or not spec.webhook_secret_env:
            return f"no secret for party {party}"
        return f"secret env var {spec.webhook_secret_env} not set"

    def _report(self, party: str) -> None:
        if party in self._reported:
            return
        self._reported.add(party)
        spec = self.policy.parties.get(party)
        env = spec.webhook_secret_env if spec else ""
        log.error(
            "webhooks to party %s are not sent: no signing secret (environment variable %s)",
            party, env or "unnamed",
        )  # fmt: skip
