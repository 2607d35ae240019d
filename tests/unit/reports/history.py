"""A generated two weeks of history, written the way the system writes it, and its plan.

Calls go through ``telephony.actions.apply_call_event`` (the CDR writer's code), transcripts
through ``asr.actions.apply_transcript_event``, tickets through ``tickets.actions`` and surveys
through ``tickets.survey.record_answer``. Orders and the screen pop's call context are plain
rows (the demo seed writes them the same way). The plan (``Story``, ``CallPlan``) stays in
memory so the tests can work out every figure on their own, without the report code.

Stories, each about its own order and customer (so no two stories are merged as repeats):
- ``single``: one call; an agent raises a ticket, resolves it within the hour, the customer
  answers the survey with ``score``.
- ``repeat`` (five or more days back): two calls a few hours apart; the second joins the
  first's ticket, which stays open (its SLA clocks run out: both missed).
- ``plain``: a call without an order; no ticket.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tingyin.asr.actions import apply_transcript_event
from tingyin.bus.events import (
    AgentLeg,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRinging,
    IvrEnded,
    IvrStep,
    QueueLeft,
    TranscriptFinal,
)
from tingyin.store import Database
from tingyin.store.models import (
    AgentStateLog,
    CallContext,
    Customer,
    FollowUp,
    Merchant,
    Order,
    Rider,
    Store,
    User,
)
from tingyin.telephony.actions import apply_call_event
from tingyin.tickets.actions import NewTicket, change_status, create_ticket
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.survey import record_answer

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday 12:00 in Shanghai
DAYS = 14
STORES = ("老王面馆 人民路店", "小李奶茶 中山店", "阿强烧烤 滨江店")
CATEGORIES = ("missing_item", "spill", "late", "quality")
# Planted caller words: the week before last talks of late riders; last week of spilled tea.
OLD_WORDS = "你好 骑手 一直 没到 超时 半小时 了"
NEW_WORDS = "喂 我的 奶茶 洒了 袋子 全湿 了 要 退款"
PLAIN_WORDS = "你好 请问 订单 什么时候 到"


@dataclass
class CallPlan:
    id: str
    started: datetime
    ivr: str  # contained | queued | abandoned
    queue: str = ""
    answered: bool = False
    wait: float = 0.0
    talk: float = 0.0
    wrap: float = 0.0
    order_no: str | None = None
    words: str = ""

    @property
    def ended(self) -> datetime:
        return self.started + timedelta(seconds=8 + self.wait + self.talk + 1)


@dataclass
class Story:
    kind: str  # single | repeat | plain
    calls: list[CallPlan]
    order_no: str | None = None
    store: int = 0  # index into STORES
    category: str = ""
    score: int | None = None
    ticket_id: int | None = None
    opened_at: datetime | None = None


@dataclass
class History:
    now: datetime = NOW
    stories: list[Story] = field(default_factory=list)

    @property
    def calls(self) -> list[CallPlan]:
        return [c for s in self.stories for c in s.calls]


def plan(seed: int = 7, now: datetime = NOW) -> History:
    """Two weeks of stories before ``now`` (calls between 10:00 and 21:00 local time)."""
    rnd = random.Random(seed)
    history = History(now)
    n = 0
    for day in range(DAYS, 0, -1):
        local_day = (now.astimezone(TZ) - timedelta(days=day)).date()
        for _ in range(rnd.randint(4, 7)):
            n += 1
            hour = rnd.choice((10, 11, 12, 17, 18, 19, 20))
            local = datetime.combine(local_day, time(hour, rnd.randrange(60)), TZ)
            started = (local + timedelta(seconds=rnd.randrange(60))).astimezone(UTC)
            kind = rnd.choice(("single", "single", "repeat", "plain", "plain"))
            if kind == "repeat" and day < 5:  # the open ticket's clocks have run out by NOW
                kind = "single"
            words = NEW_WORDS if day <= 7 else OLD_WORDS
            if kind == "plain":
                call = _call(rnd, f"c{n:04d}", started, None, PLAIN_WORDS if n % 2 else "")
                history.stories.append(Story("plain", [call]))
                continue
            order_no = f"9{n:07d}"
            first = _call(rnd, f"c{n:04d}", started, order_no, words, answered=True)
            story = Story(kind, [first], order_no, rnd.randrange(len(STORES)),
                          rnd.choice(CATEGORIES))  # fmt: skip
            if kind == "single":
                story.score = rnd.choice((3, 4, 5))  # 1–2 would reopen it
            else:
                later = first.ended + timedelta(hours=rnd.randint(1, 5))
                story.calls.append(_call(rnd, f"c{n:04d}b", later, order_no, words))
            history.stories.append(story)
    return history


def _call(
    rnd: random.Random, call_id: str, started: datetime, order_no: str | None, words: str,
    answered: bool | None = None,
) -> CallPlan:  # fmt: skip
    ivr = "queued" if answered else rnd.choice(("contained", "queued", "queued", "abandoned"))
    call = CallPlan(call_id, started, ivr, order_no=order_no, words=words)
    if ivr == "queued":
        call.queue = rnd.choice(("customer", "rider"))
        call.answered = answered if answered is not None else rnd.random() < 0.7
        call.wait = float(rnd.choice((3, 8, 15, 19, 25, 40, 75)))
        if call.answered:
            call.talk = float(rnd.randint(60, 400))
            call.wrap = float(rnd.randint(5, 40))
    return call


# -- writing it --------------------------------------------------------------------------------
def write(db: Database, history: History) -> TicketPolicy:
    policy = load_ticket_policy()
    with db.session() as session:
        agent = User(username="agent-r", display_name="坐席", role="agent", password_hash="x",
                     active=True, created_at=history.now - timedelta(days=60))  # fmt: skip
        session.add(agent)
        merchants = [Merchant(name=name.split()[0]) for name in STORES]
        session.add_all(merchants)
        session.flush()
        stores = [Store(merchant_id=m.id, name=name, address="杭州") for m, name in
                  zip(merchants, STORES, strict=True)]  # fmt: skip
        rider = Rider(name="赵骑手", phone="+8613900000001")
        session.add_all([*stores, rider])
        session.flush()
        for i, story in enumerate(history.stories):
            if story.order_no is not None:
                _order(session, story, i, stores[story.store].id, rider.id)
            for call in story.calls:
                _write_call(session, call, agent.id)
        session.flush()
        for i, story in enumerate(history.stories):
            if story.order_no is not None:
                _tickets(session, policy, story, i, agent)
    return policy


def placed(story: Story) -> datetime:
    return story.calls[0].started - timedelta(minutes=50)


def _order(session: Session, story: Story, i: int, store_id: int, rider_id: int) -> None:
    phone = f"+86138{i:08d}"
    since = placed(story) - timedelta(days=400)
    customer = Customer(phone=phone, name=f"顾客{i}", registered_at=since)
    session.add(customer)
    session.flush()
    placed_at = placed(story)
    assert story.order_no is not None
    session.add(
        Order(
            order_no=story.order_no,
            channel="meituan",
            customer_id=customer.id,
            store_id=store_id,
            rider_id=rider_id,
            status="delivered",
            amount_fen=3200,
            delivery_address="滨江区",
            placed_at=placed_at,
            promised_at=placed_at + timedelta(minutes=40),
        )
    )


def _write_call(session: Session, c: CallPlan, agent_id: int) -> None:
    t = c.started
    events: list[object] = [
        CallRinging(call_id=c.id, sip_call_id=f"s-{c.id}", worker=0, caller="13812345678",
                    dialed="4008001234", at=t),
        CallAnswered(call_id=c.id, codec="PCMU", at=t),
        IvrStep(call_id=c.id, node="welcome", node_type="play", at=t + timedelta(seconds=1)),
    ]  # fmt: skip
    ivr_end = t + timedelta(seconds=8)
    events.append(IvrEnded(call_id=c.id, outcome=c.ivr, node="main", at=ivr_end))
    if c.ivr == "queued":
        left = ivr_end + timedelta(seconds=c.wait)
        events.append(CallQueued(call_id=c.id, queue=c.queue, at=ivr_end))
        outcome = "answered" if c.answered else "abandoned"
        events.append(QueueLeft(call_id=c.id, queue=c.queue, outcome=outcome,
                                waited_seconds=c.wait, agent_id=agent_id, at=left))  # fmt: skip
        if c.answered:
            events += [
                AgentLeg(call_id=c.id, leg_id="a1", state="ringing", agent_id=agent_id,
                         at=left - timedelta(seconds=1)),
                AgentLeg(call_id=c.id, leg_id="a1", state="answered", agent_id=agent_id, at=left),
                AgentLeg(call_id=c.id, leg_id="a1", state="ended", agent_id=agent_id,
                         at=left + timedelta(seconds=c.talk)),
            ]  # fmt: skip
    events.append(CallEnded(call_id=c.id, reason="hangup", at=c.ended))
    for event in events:
        apply_call_event(session, event)  # type: ignore[arg-type]
    session.flush()
    if c.order_no is not None:
        context = CallContext(call_id=c.id, revision=1, caller_kind="customer",
                              order_no=c.order_no, reason="", payload={}, built_at=t)  # fmt: skip
        session.add(context)
    if c.wrap:
        end = c.ended
        session.add(AgentStateLog(user_id=agent_id, state="wrap_up", call_id=c.id,
                                  started_at=end, ended_at=end + timedelta(seconds=c.wrap),
                                  seconds=c.wrap))  # fmt: skip
    if c.words:
        apply_transcript_event(session, TranscriptFinal(call_id=c.id, leg="caller", start=1.0,
                               end=4.0, text=c.words, at=c.ended))  # fmt: skip
        apply_transcript_event(session, TranscriptFinal(call_id=c.id, leg="system", start=5.0,
                               end=7.0, text="您好 这里 是 客服 退款", at=c.ended))  # fmt: skip


def _tickets(session: Session, policy: TicketPolicy, story: Story, i: int, agent: User) -> None:
    first = story.calls[0]
    new = NewTicket(category=story.category, order_no=story.order_no, call_id=first.id,
                    customer_phone=f"+86138{i:08d}", description="顾客来电反映问题")  # fmt: skip
    created = create_ticket(session, policy, new, actor=agent, now=first.ended)
    assert created.created
    ticket = created.ticket
    story.ticket_id, story.opened_at = ticket.id, first.ended
    if story.kind == "repeat":
        second = story.calls[1]
        again = NewTicket(category=story.category, order_no=story.order_no, call_id=second.id,
                          customer_phone=f"+86138{i:08d}")  # fmt: skip
        joined = create_ticket(session, policy, again, actor=agent, now=second.ended)
        assert joined.repeat and joined.ticket.id == ticket.id
        return
    change_status(session, policy, ticket, "in_progress", actor=agent,
                  now=first.ended + timedelta(minutes=5))  # fmt: skip
    resolved = first.ended + timedelta(minutes=30)
    change_status(session, policy, ticket, "resolved", actor=agent, now=resolved)
    session.flush()
    followup = session.query(FollowUp).filter_by(ticket_id=ticket.id).one()
    assert story.score is not None
    record_answer(session, policy, ticket, followup, story.score, first.id,
                  resolved + timedelta(hours=3))  # fmt: skip
