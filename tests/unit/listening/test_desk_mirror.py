"""The agent's desk mirrored in the listening room: ``POST /api/desk/mirror`` (the agent, their
current call only, bounded), ``GET /api/room/mirror/{agent_id}`` (the room's roles), the
``DeskMirror`` event reaching supervisors' sockets and not agents', and the board dropping a
draft when the call is over."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.web.conftest import Login
from tests.unit.web.support import app_bus
from tingyin.agents.actions import set_state
from tingyin.agents.config import load_queue_config
from tingyin.bus import decode_event, encode_event
from tingyin.bus.desk import DeskDraft
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallEnded,
    CallRinging,
    DeskMirror,
    utcnow,
)
from tingyin.listening.mirror import DeskMirrors, mask_phones
from tingyin.listening.mirror_api import MAX_BODY_BYTES
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.web.events import may_see

pytestmark = pytest.mark.timeout(30)

CALL = "c-desk-1"


def on_call(db: Database, call_id: str = CALL, username: str = "u-agent") -> int:
    """The agent on ``call_id`` as the ACD would put them: ready, then on_call."""
    now = utcnow()
    with db.session() as session:
        agent = session.query(User).filter_by(username=username).one().id
        config = load_queue_config()
        set_state(session, config, agent, "ready", now=now - timedelta(minutes=1))
        set_state(session, config, agent, "on_call", now=now, by="system", call_id=call_id)
    return agent


def draft(**fields: Any) -> dict[str, Any]:
    return {
        "call_id": CALL,
        "category": "late",
        "order_no": "202506180001234567",
        "responsible_party": "rider",
        "description": "骑手迟到四十分钟",
        "edited": True,
        "shown_order_no": "202506180001234567",
        **fields,
    }


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def mirror_of(client: TestClient, headers: dict[str, str], agent: int) -> dict[str, Any]:
    response = client.get(f"/api/room/mirror/{agent}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the endpoints ----------------------------------------------------------------------------
def test_the_draft_reaches_the_room(client: TestClient, db: Database, login: Login) -> None:
    agent = on_call(db)
    typed = draft(description="顾客说打 138-1234-5678 找他，订单 202506180001234567")
    response = client.post("/api/desk/mirror", json=typed, headers=login("agent"))
    assert response.status_code == 204, response.text
    for role in ("supervisor", "qa", "admin"):
        body = mirror_of(client, login(role), agent)
        assert (body["agent_id"], body["call_id"]) == (agent, CALL)
        got = body["draft"]
        assert (got["category"], got["responsible_party"], got["status"]) == (
            "late", "rider", "editing",
        )  # fmt: skip
        # The dictated phone number is masked; the order number is left as typed.
        assert got["description"] == "顾客说打 138****5678 找他，订单 202506180001234567"


def test_nothing_sent_yet_is_an_empty_mirror(
    client: TestClient, db: Database, login: Login
) -> None:
    agent = on_call(db)
    assert mirror_of(client, login("supervisor"), agent) == {
        "agent_id": agent, "call_id": None, "at": None, "draft": None,
    }  # fmt: skip
    assert client.get("/api/room/mirror/99999", headers=login("supervisor")).status_code == 404


def test_a_login_is_needed(client: TestClient) -> None:
    assert client.post("/api/desk/mirror", json=draft()).status_code == 401
    assert client.get("/api/room/mirror/1").status_code == 401


@pytest.mark.parametrize("role", ["supervisor", "qa", "admin"])
def test_only_agents_send_their_desk(client: TestClient, login: Login, role: str) -> None:
    response = client.post("/api/desk/mirror", json=draft(), headers=login(role))
    assert response.status_code == 403


def test_agents_do_not_watch_each_other(client: TestClient, db: Database, login: Login) -> None:
    agent = on_call(db)
    assert client.get(f"/api/room/mirror/{agent}", headers=login("agent")).status_code == 403


def test_only_the_agents_current_call(client: TestClient, db: Database, login: Login) -> None:
    headers = login("agent")
    response = client.post("/api/desk/mirror", json=draft(), headers=headers)
    assert (response.status_code, response.json()["detail"]) == (
        409, "that is not your current call",
    )  # fmt: skip
    agent = on_call(db, "c-other")
    assert client.post("/api/desk/mirror", json=draft(), headers=headers).status_code == 409
    assert client.post(
        "/api/desk/mirror", json=draft(call_id="c-other"), headers=headers
    ).is_success
    with db.session() as session:  # wrap-up: the call is over, so is its mirror
        set_state(session, load_queue_config(), agent, "wrap_up", now=utcnow(), by="system")
    response = client.post("/api/desk/mirror", json=draft(call_id="c-other"), headers=headers)
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"description": "长" * 4001}, ["body", "description"]),
        ({"call_id": "c 1; drop"}, ["body", "call_id"]),
        ({"call_id": ""}, ["body", "call_id"]),
        ({"category": "x" * 41}, ["body", "category"]),
        ({"order_no": "<b>1</b>"}, ["body", "order_no"]),
        ({"status": "approved"}, ["body", "status"]),
        ({"viewing": "elsewhere"}, ["body", "viewing"]),
        ({"phone": "13812345678"}, ["body", "phone"]),  # unknown fields are refused
    ],
)
def test_bad_fields_are_clear_422s(
    client: TestClient, db: Database, login: Login, fields: dict[str, Any], where: list[str]
) -> None:
    on_call(db)
    response = client.post("/api/desk/mirror", json=draft(**fields), headers=login("agent"))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == where and error["msg"]
    assert "input" not in error  # the handler never echoes what was sent


def test_not_json_is_a_422(client: TestClient, db: Database, login: Login) -> None:
    on_call(db)
    headers = login("agent") | {"content-type": "application/json"}
    response = client.post("/api/desk/mirror", content=b"{not json", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_a_body_past_the_bound_is_refused(client: TestClient, db: Database, login: Login) -> None:
    on_call(db)
    headers = login("agent")
    body = b'{"call_id": "' + CALL.encode() + b'", "description": "' + b"a" * MAX_BODY_BYTES
    response = client.post("/api/desk/mirror", content=body + b'"}', headers=headers)
    assert response.status_code == 413
    assert response.json()["detail"] == f"a desk draft is at most {MAX_BODY_BYTES} bytes"

    def chunks() -> Any:  # no Content-Length: counted as it streams in
        yield body
        yield b'"}'

    response = client.post("/api/desk/mirror", content=chunks(), headers=headers)
    assert response.status_code == 413


def test_the_draft_is_dropped_when_the_call_ends(
    client: TestClient, db: Database, login: Login
) -> None:
    agent = on_call(db)
    headers, watcher = login("agent"), login("supervisor")
    assert client.post("/api/desk/mirror", json=draft(), headers=headers).status_code == 204
    app_bus(client).publish(CallEnded(call_id=CALL, reason="caller"))
    wait_for(lambda: mirror_of(client, watcher, agent)["draft"] is None)
    # A late post (the agent's profile not yet in wrap-up) does not bring it back.
    response = client.post("/api/desk/mirror", json=draft(), headers=headers)
    assert (response.status_code, response.json()["detail"]) == (409, "that call has ended")


# -- the events socket ------------------------------------------------------------------------
def test_the_event_reaches_supervisors_not_agents(
    client: TestClient, db: Database, login: Login
) -> None:
    agent = on_call(db)
    agent_headers = login("agent")
    agent_token = agent_headers["Authorization"].removeprefix("Bearer ")
    supervisor_token = login("supervisor")["Authorization"].removeprefix("Bearer ")
    with (
        client.websocket_connect(f"/ws/events?token={supervisor_token}") as watcher,
        client.websocket_connect(f"/ws/events?token={agent_token}") as desk,
    ):
        typed = draft(description="饭菜洒了", muted=True)
        assert client.post("/api/desk/mirror", json=typed, headers=agent_headers).status_code == 204
        # A marker after it: the agent's socket gets the marker first, so the mirror was withheld.
        app_bus(client).publish(CallRinging(call_id="c-marker", sip_call_id="s", worker=0,
                                            caller="13812345678", dialed="400"))  # fmt: skip
        seen = watcher.receive_json()
        assert (seen["type"], seen["call_id"], seen["agent_id"]) == ("DeskMirror", CALL, agent)
        assert (seen["draft"]["description"], seen["draft"]["muted"]) == ("饭菜洒了", True)
        assert watcher.receive_json()["call_id"] == "c-marker"
        assert desk.receive_json()["call_id"] == "c-marker"


def test_who_sees_the_desk() -> None:
    event = DeskMirror(call_id=CALL, agent_id=7, draft=DeskDraft(description="x"))
    assert [r for r in ("agent", "supervisor", "qa", "admin") if may_see(r, event)] == [
        "supervisor", "qa", "admin",
    ]  # fmt: skip


def test_the_event_round_trips() -> None:
    event = DeskMirror(call_id=CALL, agent_id=7, draft=DeskDraft(category="late", held=True))
    assert decode_event(encode_event(event)) == event


# -- the board --------------------------------------------------------------------------------
def mirror(agent: int, call_id: str = CALL, seconds: float = 0.0) -> DeskMirror:
    at = utcnow() + timedelta(seconds=seconds)
    return DeskMirror(call_id=call_id, agent_id=agent, draft=DeskDraft(), at=at)


def test_the_board_keeps_the_newest_per_agent() -> None:
    board = DeskMirrors()
    newer, older = mirror(1, seconds=1), mirror(1)
    assert board.keep(newer) and board.keep(older)
    assert board.latest(1) is newer  # the bus bringing back an older one changes nothing
    board.apply(mirror(2, "c-2"))
    board.apply(CallEnded(call_id=CALL, reason="caller"))
    assert board.latest(1) is None and board.latest(2) is not None
    assert board.has_ended(CALL) and not board.keep(mirror(1))


def test_the_board_drops_an_agent_who_left_the_call() -> None:
    board = DeskMirrors()
    board.apply(mirror(1))
    board.apply(AgentLeg(call_id=CALL, leg_id="l", state="held", agent_id=1))
    assert board.latest(1) is not None  # on hold: still their call
    board.apply(AgentLeg(call_id=CALL, leg_id="l", state="ended", agent_id=1))  # transferred
    assert board.latest(1) is None
    board.apply(mirror(2))
    same = AgentStateChanged(user_id=2, username="a", display_name="a", state="on_call",
                             call_id=CALL)  # fmt: skip
    board.apply(same)
    assert board.latest(2) is not None
    board.apply(AgentStateChanged(user_id=2, username="a", display_name="a", state="ready"))
    assert board.latest(2) is None


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("回电 13812345678", "回电 138****5678"),
        ("+86 138 1234 5678 或 0086-13812345678", "138****5678 或 138****5678"),
        ("座机 010-62345678", "座机 010****5678"),
        ("订单 202506180001234567", "订单 202506180001234567"),
        ("退 12 元，3 份", "退 12 元，3 份"),
    ],
)
def test_phone_numbers_in_the_description_are_masked(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


@pytest.mark.parametrize("name", ["desk-mirror.js", "room-mirror.js"])
def test_the_mirror_scripts_are_served_locally(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text
