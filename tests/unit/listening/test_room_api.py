"""GET /api/room and the /room page: supervisors, QA and admins only; agents, their states and
calls in progress with the screen pop and last words; the queues today; stored alerts."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.unit.web.conftest import Login
from tingyin.agents.actions import set_state
from tingyin.agents.config import load_queue_config
from tingyin.asr.actions import apply_transcript_event
from tingyin.bus.context import OrderCard
from tingyin.bus.events import (
    AgentLeg,
    CallAlert,
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallEvent,
    CallQueued,
    CallRinging,
    QueueLeft,
    TranscriptFinal,
    utcnow,
)
from tingyin.screenpop.actions import store_context
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.telephony.actions import apply_call_event


def order(order_no: str) -> OrderCard:
    placed = utcnow() - timedelta(hours=1)
    return OrderCard(order_no=order_no, channel="meituan", status="delivered", merchant="蜀香园",
                     store="望京店", rider="刘师傅", amount_fen=6850, address="望京", remarks="",
                     flagged_remarks=(), placed_at=placed, promised_at=placed,
                     delivered_at=None, items=(), timeline=(), anomalies=())  # fmt: skip


def seed(db: Database) -> int:
    """An agent on call c-live (queued 5 s, answered), a caller still waiting (c-wait), and
    today's c-gone (abandoned after 40 s); one alert on c-live."""
    now = utcnow()
    with db.session() as session:
        agent = session.query(User).filter_by(username="u-agent").one().id
        config = load_queue_config()
        set_state(session, config, agent, "ready", now=now - timedelta(minutes=5))
        set_state(session, config, agent, "on_call", now=now - timedelta(seconds=40),
                  by="system", call_id="c-live")  # fmt: skip

        def ring(call_id: str, seconds_ago: float) -> CallRinging:
            return CallRinging(call_id=call_id, at=now - timedelta(seconds=seconds_ago),
                               sip_call_id=call_id, worker=0, caller="13812345678",
                               dialed="400")  # fmt: skip

        events: list[CallEvent] = [
            ring("c-live", 60), CallAnswered(call_id="c-live", at=now - timedelta(seconds=59)),
            CallQueued(call_id="c-live", queue="customer", at=now - timedelta(seconds=50)),
            QueueLeft(call_id="c-live", queue="customer", outcome="answered", waited_seconds=5,
                      agent_id=agent, at=now - timedelta(seconds=45)),
            AgentLeg(call_id="c-live", leg_id="l1", state="answered", agent_id=agent,
                     at=now - timedelta(seconds=45)),
            CallAlert(call_id="c-live", rule="forbidden_phrase", kind="phrase",
                      severity="warning", at_seconds=12.5, text="不知道", agent_id=agent),
            ring("c-wait", 30), CallAnswered(call_id="c-wait", at=now - timedelta(seconds=29)),
            CallQueued(call_id="c-wait", queue="customer", at=now - timedelta(seconds=20)),
            ring("c-gone", 120),
            CallQueued(call_id="c-gone", queue="customer", at=now - timedelta(seconds=110)),
            QueueLeft(call_id="c-gone", queue="customer", outcome="abandoned", waited_seconds=40,
                      at=now - timedelta(seconds=70)),
            CallEnded(call_id="c-gone", reason="caller", at=now - timedelta(seconds=70)),
        ]  # fmt: skip
        for event in events:
            apply_call_event(session, event)
        store_context(session, CallerContextReady(
            call_id="c-live", caller="138****5678", number_kind="mobile", caller_kind="customer",
            name="李女士", flags=("vip",), orders=(order("202605010001"),),
        ))  # fmt: skip
        lines = [("agent", "您好"), ("caller", "我的外卖"), ("agent", "这个我不知道")]
        lines.append(("caller", "什么"))
        for n, (leg, text) in enumerate(lines):
            apply_transcript_event(session, TranscriptFinal(call_id="c-live", leg=leg,
                                   start=4.0 + n * 3, end=5.0 + n * 3, text=text))  # fmt: skip
        apply_transcript_event(session, TranscriptFinal(call_id="c-live", leg="caller",
                               start=1.0, end=2.0, text="喂"))  # fmt: skip
    return agent


def test_the_room_for_a_supervisor(client: TestClient, db: Database, login: Login) -> None:
    agent = seed(db)
    room = client.get("/api/room", headers=login("supervisor")).json()
    [me] = [a for a in room["agents"] if a["user_id"] == agent]
    assert (me["display_name"], me["state"], me["call_id"]) == ("agent 张", "on_call", "c-live")
    calls = {c["call_id"]: c for c in room["calls"]}
    assert set(calls) == {"c-live", "c-wait"}
    live = calls["c-live"]
    assert (live["agent_id"], live["caller"], live["caller_kind"], live["order_no"]) == (
        agent, "138****5678", "customer", "202605010001",
    )  # fmt: skip
    assert (live["name"], live["flags"]) == ("李女士", ["vip"])
    assert [line["text"] for line in live["lines"]] == ["您好", "我的外卖", "这个我不知道", "什么"]
    assert calls["c-wait"]["agent_id"] == 0
    queues = room["queues"]
    assert (queues["waiting"], queues["answered_today"], queues["abandoned_today"]) == (1, 1, 1)
    assert 19 <= queues["longest_wait_seconds"] < 30
    assert (queues["service_level"], queues["service_level_seconds"]) == (0.5, 20)
    [alert] = room["alerts"]
    assert (alert["call_id"], alert["rule"], alert["at_seconds"], alert["text"], alert["live"]) == (
        "c-live", "forbidden_phrase", 12.5, "不知道", True,
    )  # fmt: skip
    assert room["rules"]["forbidden_phrase"]["zh"] == "坐席禁语"


def test_agents_are_refused(client: TestClient, login: Login) -> None:
    assert client.get("/api/room", headers=login("agent")).status_code == 403
    assert client.get("/api/room").status_code == 401
    for role in ("qa", "admin"):
        assert client.get("/api/room", headers=login(role)).status_code == 200


def test_the_page_sends_agents_to_their_desk(client: TestClient, login: Login) -> None:
    assert client.get("/room", follow_redirects=False).headers["location"] == "/login"
    token = login("agent")["Authorization"].removeprefix("Bearer ")
    client.cookies.set("tingyin_token", token)
    response = client.get("/room", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/desk")


def test_the_page_for_a_supervisor(client: TestClient, login: Login) -> None:
    token = login("supervisor")["Authorization"].removeprefix("Bearer ")
    client.cookies.set("tingyin_token", token)
    page = client.get("/room", follow_redirects=False)
    assert page.status_code == 200 and "/static/room.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("room.js", "room-audio.js", "room-stereo.js", "room.css"):
        assert client.get(f"/static/{name}").status_code == 200
