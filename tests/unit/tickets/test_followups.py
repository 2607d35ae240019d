"""Follow-up surveys in the store: owed at resolution, inside calling hours, claimed when due,
retried, given up, and answered — a low score reopens the ticket, a good one closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tingyin.store import Database
from tingyin.store.models import FollowUp, Ticket, TicketEvent
from tingyin.tickets.actions import NewTicket, change_status, create_ticket
from tingyin.tickets.followups import (
    attempt_failed,
    claim_due,
    next_calling_time,
    release_stale_calls,
)
from tingyin.tickets.policy import (
    DEFAULT_TICKET_POLICY,
    TicketPolicy,
    TicketPolicyError,
    load_ticket_policy,
)
from tingyin.tickets.survey import record_answer

# 10:00 in Beijing on a Monday.
MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PHONE = "13800000001"


@pytest.fixture(scope="module")
def policy() -> TicketPolicy:
    return load_ticket_policy()


def resolved_ticket(db: Database, policy: TicketPolicy, at: datetime, phone: str = PHONE) -> int:
    with db.session() as session:
        new = NewTicket(category="late", customer_phone=phone)
        ticket = create_ticket(session, policy, new, actor=None, now=at).ticket
        change_status(session, policy, ticket, "resolved", actor=None, now=at)
        return ticket.id


def followups(db: Database) -> list[FollowUp]:
    with db.session() as session:
        rows = session.query(FollowUp).order_by(FollowUp.id).all()
        session.expunge_all()
        return rows


def test_calling_hours_push_a_night_call_to_the_morning(policy: TicketPolicy) -> None:
    assert next_calling_time(policy, MORNING) == MORNING
    late_evening = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 in Beijing
    assert next_calling_time(policy, late_evening) == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    early = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00 on Tuesday in Beijing
    assert next_calling_time(policy, early) == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_resolving_owes_a_call_a_day_later(db: Database, policy: TicketPolicy) -> None:
    resolved_ticket(db, policy, MORNING)
    (owed,) = followups(db)
    assert owed.status == "scheduled"
    assert owed.due_at == MORNING + timedelta(hours=policy.followup.delay_hours)
    with db.session() as session:
        assert claim_due(session, MORNING + timedelta(hours=1), 5) == []


def test_no_number_no_call(db: Database, policy: TicketPolicy) -> None:
    with db.session() as session:
        ticket = create_ticket(session, policy, NewTicket(category="late"), actor=None,
                               now=MORNING).ticket  # fmt: skip
        change_status(session, policy, ticket, "resolved", actor=None, now=MORNING)
    assert followups(db) == []


def test_claimed_once_and_retried_then_given_up(db: Database, policy: TicketPolicy) -> None:
    resolved_ticket(db, policy, MORNING)
    due = MORNING + timedelta(days=1)
    with db.session() as session:
        (call,) = claim_due(session, due, 5)
        assert (call.number, call.attempt) == (PHONE, 1)
        assert claim_due(session, due, 5) == []  # being called: not claimed twice
    now = due
    for attempt in range(1, policy.followup.max_attempts + 1):
        with db.session() as session:
            row = attempt_failed(session, policy, call.followup_id, "no-answer", now, "c" * 32)
            assert row is not None
            last = attempt == policy.followup.max_attempts
            assert row.status == ("unanswered" if last else "scheduled")
            if not last:
                assert row.due_at == now + timedelta(minutes=policy.followup.retry_minutes)
                now = row.due_at
                (call,) = claim_due(session, now, 5)
                assert call.attempt == attempt + 1
    (row,) = followups(db)
    assert (row.attempts, row.outcome, row.call_id) == (3, "no-answer", "c" * 32)


def test_a_reopened_ticket_is_not_called(db: Database, policy: TicketPolicy) -> None:
    ticket_id = resolved_ticket(db, policy, MORNING)
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        change_status(session, policy, ticket, "reopened", actor=None, now=MORNING)
    with db.session() as session:
        assert claim_due(session, MORNING + timedelta(days=2), 5) == []
    assert [(f.status, f.outcome) for f in followups(db)] == [("cancelled", "ticket reopened")]


def test_resolving_again_supersedes_the_old_call(db: Database, policy: TicketPolicy) -> None:
    ticket_id = resolved_ticket(db, policy, MORNING)
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        change_status(session, policy, ticket, "reopened", actor=None, now=MORNING)
        change_status(session, policy, ticket, "resolved", actor=None, now=MORNING)
    assert [f.status for f in followups(db)] == ["cancelled", "scheduled"]


def test_a_restart_puts_interrupted_calls_back(db: Database, policy: TicketPolicy) -> None:
    resolved_ticket(db, policy, MORNING)
    with db.session() as session:
        claim_due(session, MORNING + timedelta(days=1), 5)
    with db.session() as session:
        assert release_stale_calls(session) == 1
    assert [f.status for f in followups(db)] == ["scheduled"]


@pytest.mark.parametrize(
    ("score", "status"), [(1, "reopened"), (2, "reopened"), (3, "closed"), (5, "closed")]
)
def test_the_answer_moves_the_ticket(
    db: Database, policy: TicketPolicy, score: int, status: str
) -> None:
    ticket_id = resolved_ticket(db, policy, MORNING)
    now = MORNING + timedelta(days=1)
    with db.session() as session:
        (call,) = claim_due(session, now, 5)
        ticket = session.get(Ticket, ticket_id)
        followup = session.get(FollowUp, call.followup_id)
        assert ticket is not None and followup is not None
        record_answer(session, policy, ticket, followup, score, "d" * 32, now)
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == status
        events = session.query(TicketEvent).filter_by(ticket_id=ticket_id, kind="followup").all()
        assert [(e.data, e.public) for e in events] == [({"score": score}, True)]
    (row,) = followups(db)
    assert (row.status, row.score, row.answered_at) == ("answered", score, now)


def test_a_middle_score_can_leave_the_ticket_resolved(db: Database, policy: TicketPolicy) -> None:
    strict = policy.model_copy(
        update={"followup": policy.followup.model_copy(update={"close_at_or_above": 4})}
    )
    ticket_id = resolved_ticket(db, strict, MORNING)
    with db.session() as session:
        (call,) = claim_due(session, MORNING + timedelta(days=1), 5)
        ticket, followup = session.get(Ticket, ticket_id), session.get(FollowUp, call.followup_id)
        assert ticket is not None and followup is not None
        record_answer(session, strict, ticket, followup, 3, None, MORNING + timedelta(days=1))
        assert ticket.status == "resolved"


def test_followup_section_mistakes_are_named(tmp_path: Path) -> None:
    text = DEFAULT_TICKET_POLICY.read_text(encoding="utf-8")
    bad = tmp_path / "t.toml"
    bad.write_text(text.replace('calling_hours = "09:00-21:00"', 'calling_hours = "closed"'))
    with pytest.raises(TicketPolicyError, match="calling_hours"):
        load_ticket_policy(bad)
    bad.write_text(text.replace("close_at_or_above = 3", "close_at_or_above = 2"))
    with pytest.raises(TicketPolicyError, match="close_at_or_above"):
        load_ticket_policy(bad)
    bad.write_text(text.replace("max_attempts = 3", "max_attemps = 3"))
    with pytest.raises(TicketPolicyError, match="max_attemps"):
        load_ticket_policy(bad)
