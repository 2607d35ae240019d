"""The store on SQLite and PostgreSQL: migrations, users, the CDR from call events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect

from tingyin.accounts.actions import AccountError, create_user
from tingyin.accounts.queries import authenticate
from tingyin.audit.queries import recent_audit
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallRecordingStarted,
    CallRinging,
    DtmfReceived,
    LegStats,
    utcnow,
)
from tingyin.store import Database
from tingyin.store.models import Call
from tingyin.telephony.actions import apply_call_event, fail_open_calls
from tingyin.telephony.queries import call_events, list_calls


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    database.migrate()  # idempotent: a restart applies nothing twice
    return database


def test_migrations_create_the_tables(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "calls", "call_events", "audit_log", "alembic_version"} <= tables


def test_users_are_hashed_audited_and_authenticate(db: Database) -> None:
    with db.session() as session:
        user = create_user(session, "zhang", "s3cret-pass", "agent")
        assert user.password_hash.startswith("$argon2")
    with db.session() as session:
        assert authenticate(session, "zhang", "s3cret-pass") is not None
        assert authenticate(session, "zhang", "wrong-pass") is None
        assert [a.action for a in recent_audit(session)] == ["user.create"]
        with pytest.raises(AccountError, match="already exists"):
            create_user(session, "zhang", "another-pass", "agent")
        with pytest.raises(AccountError, match="unknown role"):
            create_user(session, "li", "another-pass", "boss")


def test_call_events_build_the_cdr(db: Database) -> None:
    t0 = utcnow()
    events = [
        CallRinging(
            call_id="c1",
            sip_call_id="abc@h",
            worker=1,
            caller="13812345678",
            dialed="400800",
            at=t0,
        ),
        CallRecordingStarted(call_id="c1", path="2026/01/01/c1.wav", at=t0),
        CallAnswered(call_id="c1", codec="PCMU", at=t0 + timedelta(seconds=1)),
        DtmfReceived(call_id="c1", digit="5", at=t0 + timedelta(seconds=2)),
        CallEnded(
            call_id="c1",
            reason="hangup",
            sip_status=200,
            recording_path="2026/01/01/c1.wav",
            recording_seconds=4.0,
            legs=(LegStats(leg="caller", frames=200),),
            at=t0 + timedelta(seconds=5),
        ),
    ]
    for event in events:
        with db.session() as session:
            apply_call_event(session, event)
    with db.session() as session:
        (call,) = list_calls(session)
        assert (call.status, call.codec, call.worker, call.end_reason) == (
            "ended",
            "PCMU",
            1,
            "hangup",
        )
        assert call.answered_at == t0 + timedelta(seconds=1)
        assert call.ended_at is not None and call.ended_at.tzinfo is not None
        assert call.legs[0]["frames"] == 200
        assert [e.data["digit"] for e in call_events(session, "c1")] == ["5"]


def test_a_dead_worker_fails_only_its_open_calls(db: Database) -> None:
    with db.session() as session:
        for call_id, worker in (("a", 0), ("b", 1), ("c", 0)):
            apply_call_event(
                session,
                CallRinging(
                    call_id=call_id, sip_call_id=call_id, worker=worker, caller="1", dialed="2"
                ),
            )
        apply_call_event(session, CallEnded(call_id="c", reason="hangup"))
    with db.session() as session:
        assert fail_open_calls(session, 0, "worker-0-died", utcnow()) == ["a"]
    with db.session() as session:
        statuses = {c.id: c.status for c in session.query(Call).all()}
    assert statuses == {"a": "failed", "b": "ringing", "c": "missed"}
