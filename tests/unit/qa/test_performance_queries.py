"""Agent performance over a real store (SQLite and PostgreSQL): a small planted history whose
every figure this test works out by hand, written through the CDR, ticket, survey and QA
actions; then the reports' two weeks of generated history against its own plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.qa.test_qa_api import answers
from tests.unit.reports.history import NOW, TZ, History, plan, write
from tingyin.bus.events import AgentLeg, CallAnswered, CallEnded, CallRinging, Event
from tingyin.qa.actions import submit_evaluation
from tingyin.qa.performance import KpiConfig, load_kpi_config
from tingyin.qa.performance_queries import performance, trend
from tingyin.qa.scorecard import load_scorecard
from tingyin.store import Database
from tingyin.store.models import AgentStateLog, CallContext, FollowUp, User
from tingyin.telephony.actions import apply_call_event
from tingyin.tickets.actions import NewTicket, change_status, create_ticket
from tingyin.tickets.policy import load_ticket_policy
from tingyin.tickets.survey import record_answer

WINDOW = timedelta(hours=72)
T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = T0.astimezone(TZ).date()
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=3)


def cfg(**teams: list[str]) -> KpiConfig:
    base = load_kpi_config()
    return KpiConfig.model_validate(
        {"weights": base.weights, "targets": base.targets.model_dump(), "teams": teams}
    )


@dataclass
class Planted:
    a: int
    b: int
    qa_a: float
    qa_b: float


def at(s: float, start: datetime = T0) -> datetime:
    return start + timedelta(seconds=s)


def _call(db: Database, call_id: str, start: datetime, legs: list[tuple[float, str, str, int]],
          end: float, *, order: str | None = None, outbound: bool = False) -> None:  # fmt: skip
    events: list[Event] = [
        CallRinging(call_id=call_id, sip_call_id=f"s-{call_id}", worker=0, caller="13812345678",
                    dialed="4008001234", at=start,
                    direction="outbound" if outbound else "inbound"),
        CallAnswered(call_id=call_id, codec="PCMU", at=at(1, start)),
        *(AgentLeg(call_id=call_id, leg_id=leg, state=state, agent_id=agent, at=at(s, start))
          for s, leg, state, agent in legs),
        CallEnded(call_id=call_id, reason="hangup", at=at(end, start)),
    ]  # fmt: skip
    with db.session() as session:
        for event in events:
            apply_call_event(session, event)
        if order:
            context = CallContext(call_id=call_id, revision=1, caller_kind="customer",
                                  order_no=order, reason="", payload={},
                                  built_at=start)  # fmt: skip
            session.add(context)


def _wrap(db: Database, user: int, call_id: str, start: datetime, seconds: float) -> None:
    with db.session() as session:
        session.add(AgentStateLog(user_id=user, state="wrap_up", call_id=call_id,
                                  started_at=start, ended_at=at(seconds, start),
                                  seconds=seconds))  # fmt: skip


def _ticket_with_survey(db: Database, agent: int, call_id: str, order: str, when: datetime,
                        score: int) -> None:  # fmt: skip
    policy = load_ticket_policy()
    with db.session() as session:
        user = session.get(User, agent)
        assert user is not None
        new = NewTicket(category="late", order_no=order, call_id=call_id,
                        customer_phone="+8613812345678", description="迟到")  # fmt: skip
        ticket = create_ticket(session, policy, new, actor=user, now=when).ticket
        change_status(session, policy, ticket, "in_progress", actor=user, now=at(60, when))
        change_status(session, policy, ticket, "resolved", actor=user, now=at(600, when))
        session.flush()
        followup = session.query(FollowUp).filter_by(ticket_id=ticket.id).one()
        record_answer(session, policy, ticket, followup, score, None, at(3600, when))


def plant(db: Database) -> Planted:
    with db.session() as session:
        users = [User(username=u, display_name=n, role=r, password_hash="x", active=True,
                      created_at=T0 - timedelta(days=30))
                 for u, n, r in (("a-li", "李", "agent"), ("b-wang", "王", "agent"),
                                 ("s-zhao", "赵", "supervisor"))]  # fmt: skip
        session.add_all(users)
        session.flush()
        a, b, sup = (u.id for u in users)
    # p1: A answers after 3 s, holds 30 s, talks 180 s; wrap-up 20 s; a ticket, survey 5.
    _call(db, "p1", T0, [(10, "a1", "ringing", a), (13, "a1", "answered", a),
                         (60, "a1", "held", a), (90, "a1", "resumed", a),
                         (193, "a1", "ended", a)], 200, order="O1")  # fmt: skip
    _wrap(db, a, "p1", at(200), 20)
    _ticket_with_survey(db, a, "p1", "O1", at(200), 5)
    # p2: A's phone rings out (offered, not handled); B answers after 15 s, talks 300 s and
    # holds the last 41 s; wrap-up 10 s; a ticket whose survey scores 2 (a complaint).
    t2 = T0 + timedelta(hours=1)
    _call(db, "p2", t2, [(5, "a1", "ringing", a), (25, "a1", "failed", a),
                         (26, "b1", "ringing", b), (41, "b1", "answered", b),
                         (300, "b1", "held", b), (341, "b1", "ended", b)], 345,
          order="O2")  # fmt: skip
    _wrap(db, b, "p2", at(345, t2), 10)
    _ticket_with_survey(db, b, "p2", "O2", at(345, t2), 2)
    # p3: the same order as p1 two hours later (p1 was not resolved first time); B, 60 s.
    t3 = T0 + timedelta(hours=2)
    _call(db, "p3", t3, [(2, "b1", "ringing", b), (4, "b1", "answered", b),
                         (64, "b1", "ended", b)], 65, order="O1")  # fmt: skip
    # p4: A calls a customer from the desk (proactive), 120 s, the leg answered at once.
    t4 = T0 + timedelta(hours=3)
    _call(db, "p4", t4, [(1, "o1", "answered", a), (121, "o1", "ended", a)], 122,
          outbound=True)  # fmt: skip
    # p5, the next day: A talks 60 s and transfers to B, who talks 60 s.
    t5 = T0 + timedelta(days=1)
    _call(db, "p5", t5, [(1, "a1", "ringing", a), (2, "a1", "answered", a),
                         (62, "a1", "ended", a), (62, "b1", "ringing", b),
                         (65, "b1", "answered", b), (125, "b1", "ended", b)], 126)  # fmt: skip
    card = load_scorecard()
    with db.session() as session:
        supervisor = session.get(User, sup)
        assert supervisor is not None
        qa_a = submit_evaluation(session, card, "p1", kind="post_call", evaluator=supervisor,
                                 answers=answers(), now=at(7200)).total  # fmt: skip
        qa_b = submit_evaluation(session, card, "p5", kind="post_call", evaluator=supervisor,
                                 answers=answers(tone=2), now=at(7200, t5)).total  # fmt: skip
    return Planted(a, b, qa_a, qa_b)


@pytest.fixture
def store(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_planted_figures_per_agent_team_and_day(store: Database) -> None:
    p = plant(store)
    config = cfg(**{"一组": ["a-li"]})
    with store.session() as session:
        found = performance(session, SINCE, UNTIL, config, tz=TZ, fcr_window=WINDOW)
        days = trend(session, p.a, SINCE, UNTIL, config, tz=TZ, fcr_window=WINDOW)
        only_b = performance(session, SINCE, UNTIL, config, tz=TZ, fcr_window=WINDOW,
                             agent_id=p.b)  # fmt: skip
    rows = {r.username: r for r in found.agents}
    assert set(rows) == {"a-li", "b-wang"}  # the supervisor took no calls
    a, b = rows["a-li"].kpis, rows["b-wang"].kpis
    assert (rows["a-li"].team, rows["b-wang"].team) == ("一组", "")
    # A: p1, p4, p5 handled; rang for p1, p2, p4, p5 and answered 3 of them within 10 s.
    assert a.handled == 3 and a.talk_seconds == 180 + 120 + 60 and a.hold_seconds == 30
    assert a.aht_seconds == pytest.approx((360 + 20) / 3)
    assert a.hold_share == pytest.approx(30 / 360) and a.response == pytest.approx(3 / 4)
    assert a.fcr == 0  # p1's order called again (p3)
    assert (a.csat, a.surveys, a.complaints, a.complaint_rate) == (1, 1, 0, 0)
    assert a.proactive == 1 and a.proactive_rate == pytest.approx(1 / 3)
    assert a.qa_average == pytest.approx(p.qa_a) and a.qa_scores == 1
    # B: p2, p3, p5 handled; answered p2 after 15 s (slow), p3 and p5 fast.
    assert b.handled == 3 and b.talk_seconds == 300 + 60 + 60 and b.hold_seconds == 41
    assert b.aht_seconds == pytest.approx((420 + 10) / 3) and b.response == pytest.approx(2 / 3)
    assert b.fcr == 1  # p2 and p3 each closed their order's matter
    assert (b.csat, b.complaints) == (0, 1) and b.complaint_rate == pytest.approx(1 / 3)
    assert b.proactive == 0 and b.qa_average == pytest.approx(p.qa_b)
    # The weighted scores (40 satisfaction, 20 response, 20 resolution, 10 complaints,
    # 10 proactive), worked out here from the figures above.
    assert a.score == pytest.approx((40 * 100 + 20 * 75 + 20 * 0 + 10 * 100 + 10 * 100) / 100)
    assert b.score == pytest.approx((0 + 20 * 200 / 3 + 20 * 100 + 0 + 0) / 100, abs=0.05)
    assert [r.username for r in found.agents] == ["a-li", "b-wang"]  # best first
    teams = {t.team: t for t in found.teams}
    assert teams["一组"].agents == 1 and teams["一组"].kpis.score == a.score
    assert teams[""].kpis.handled == 3
    # A's days: p1, p2 (rang) and p4 on the first, p5 on the next.
    assert [d for d, _ in days] == [DAY, DAY + timedelta(days=1)]
    first, second = days[0][1], days[1][1]
    assert (first.handled, first.talk_seconds, first.qa_scores) == (2, 300, 1)
    assert (second.handled, second.talk_seconds, second.response) == (1, 60, 1)
    assert [r.username for r in only_b.agents] == ["b-wang"]
    assert only_b.agents[0].kpis == b


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, History]]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('perf') / 't.db'}")
    database.migrate()
    h = plan()
    write(database, h)
    yield database, h
    database.dispose()


def test_two_weeks_of_generated_history_match_the_plan(
    generated: tuple[Database, History],
) -> None:
    db, h = generated
    config = cfg()
    with db.session() as session:
        found = performance(session, NOW - timedelta(days=15), NOW, config, tz=TZ,
                            fcr_window=WINDOW)  # fmt: skip
    (row,) = [r for r in found.agents if r.username == "agent-r"]
    k = row.kpis
    answered = [c for c in h.calls if c.answered]
    assert k.handled == len(answered)
    assert k.aht_seconds == pytest.approx(sum(c.talk + c.wrap for c in answered) / len(answered))
    assert k.response == 1 and k.hold_seconds == 0  # rung 1 s before answering, never held
    eligible = [c for s in h.stories if s.order_no for c in s.calls if c.answered]
    repeated = [s.calls[0] for s in h.stories if s.kind == "repeat"]
    assert k.fcr == pytest.approx((len(eligible) - len(repeated)) / len(eligible))
    scores = [s.score for s in h.stories if s.score is not None]
    assert k.surveys == len(scores)
    assert k.csat == pytest.approx(sum(s >= 4 for s in scores) / len(scores))
    assert k.complaints == sum(s <= 2 for s in scores)
