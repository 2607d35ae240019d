"""The review queue and live alerts: a call the listening room flagged (call_events, kind
"alert") is always sampled, comes first, and the queue names its alerts. On SQLite and
PostgreSQL, since the ordering is SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.unit.qa.support import make_call
from tests.unit.web.conftest import Login
from tingyin.accounts.actions import create_user
from tingyin.bus.events import CallAlert, CallerContextReady, utcnow
from tingyin.qa.actions import queue_for_review
from tingyin.qa.checks import Sampling
from tingyin.qa.queries import alert_names, review_queue
from tingyin.screenpop.actions import store_context
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.telephony.actions import apply_call_event

EVERY_CALL = Sampling(random_share=1.0, low_auto_score=0)
NO_RANDOM = Sampling(random_share=0.0, low_auto_score=0)


@pytest.fixture
def store(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def alert(db: Database, call_id: str, rule: str, text: str) -> None:
    with db.session() as session:
        event = CallAlert(call_id=call_id, rule=rule, kind="phrase", severity="critical",
                          at_seconds=4.0, text=text)  # fmt: skip
        apply_call_event(session, event)


def calls(db: Database, agent: int) -> None:
    """c-flagged (two rules, one of them twice) and c-quiet, whose screen pop was revised."""
    make_call(db, "c-flagged", agent_id=agent)
    make_call(db, "c-quiet", agent_id=agent)
    alert(db, "c-flagged", "food_safety", "食物中毒")
    alert(db, "c-flagged", "forbidden_phrase", "不知道")
    alert(db, "c-flagged", "food_safety", "拉肚子")
    with db.session() as session:  # the IVR path arrived: revision 2, no alert
        store_context(session, CallerContextReady(call_id="c-quiet", caller="138****5678",
                      number_kind="mobile", caller_kind="customer", revision=2))  # fmt: skip


def test_alerted_calls_are_always_sampled_and_come_first(store: Database) -> None:
    with store.session() as session:
        agent = create_user(session, "li", "long-enough-pass", "agent").id
    calls(store, agent)
    now = utcnow()
    with store.session() as session:
        flagged = queue_for_review(session, EVERY_CALL, "c-flagged", 90.0, now - timedelta(hours=1))
        quiet = queue_for_review(session, EVERY_CALL, "c-quiet", 90.0, now)
    assert (flagged, quiet) == (["random", "live_alert"], ["random"])
    with store.session() as session:
        queue = [(r.call_id, r.reason) for r in review_queue(session)]
        assert queue[:2] == [("c-flagged", "live_alert"), ("c-flagged", "random")]
        assert queue[2:] == [("c-quiet", "random")]  # newer, yet after the alerts
        assert [r.call_id for r in review_queue(session, limit=1)] == ["c-flagged"]
        assert alert_names(session, ["c-flagged", "c-quiet"]) == {
            "c-flagged": ["food_safety", "forbidden_phrase"]
        }
        assert alert_names(session, []) == {}


def test_without_the_random_share_only_the_alerted_call_is_queued(store: Database) -> None:
    with store.session() as session:
        agent = create_user(session, "li", "long-enough-pass", "agent").id
    calls(store, agent)
    with store.session() as session:
        assert queue_for_review(session, NO_RANDOM, "c-flagged", 90.0, utcnow()) == ["live_alert"]
        assert queue_for_review(session, NO_RANDOM, "c-quiet", 90.0, utcnow()) == []
        [item] = review_queue(session)
        assert (item.call_id, item.agent_id) == ("c-flagged", agent)


def test_the_queue_api_names_the_alerts(client: TestClient, db: Database, login: Login) -> None:
    with db.session() as session:
        agent = session.query(User).filter_by(username="u-agent").one().id
    calls(db, agent)
    with db.session() as session:
        queue_for_review(session, EVERY_CALL, "c-quiet", None, utcnow())
        queue_for_review(session, EVERY_CALL, "c-flagged", None, utcnow() - timedelta(hours=1))
    queue = client.get("/api/qa/review-queue", headers=login("qa")).json()
    assert [(q["call_id"], q["reason"], q["alerts"]) for q in queue] == [
        ("c-flagged", "live_alert", ["food_safety", "forbidden_phrase"]),
        ("c-flagged", "random", ["food_safety", "forbidden_phrase"]),
        ("c-quiet", "random", []),
    ]
