"""Agents through the API: my state round trip (and its event on the socket), refused moves and
reasons, everyone's states for supervisors, the admin's profile settings, and the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tingyin.agents.actions import set_state
from tingyin.agents.config import load_queue_config
from tingyin.bus.events import AgentStateChanged, utcnow
from tingyin.store import Database
from tingyin.store.models import ROLES, User
from tingyin.web.events import may_see

from .conftest import Login

pytestmark = pytest.mark.timeout(60)


def user_id(db: Database, username: str) -> int:
    with db.session() as session:
        user = session.query(User).filter_by(username=username).one()
        return user.id


def same_time(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def post_state(
    client: TestClient, headers: dict[str, str], state: str, reason: str | None = None
) -> tuple[int, Any]:
    body = {"state": state} if reason is None else {"state": state, "reason": reason}
    response = client.post("/api/agents/me/state", json=body, headers=headers)
    return response.status_code, response.json()


def test_my_state_round_trip_reaches_the_socket(client: TestClient, login: Login) -> None:
    agent, supervisor = login("agent"), login("supervisor")
    me = client.get("/api/agents/me", headers=agent).json()
    assert (me["state"], me["since"], me["seconds_in_state"]) == ("offline", None, None)
    assert [r["code"] for r in me["reasons"]] == [
        "break", "lunch", "training", "meeting", "after_call",
    ]  # fmt: skip
    assert me["reasons"][0] == {"code": "break", "zh": "小休", "en": "Break"}
    assert (me["username"], me["display_name"], me["wrap_up_seconds"]) == (
        "u-agent",
        "agent 张",
        30,
    )

    token = supervisor["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/ws/events?token={token}") as ws:
        code, ready = post_state(client, agent, "ready")
        assert code == 200 and ready["state"] == "ready" and ready["idle_since"]
        event = ws.receive_json()
        assert event["type"] == "AgentStateChanged"
        assert (event["username"], event["display_name"], event["state"]) == (
            "u-agent",
            "agent 张",
            "ready",
        )
        assert event["user_id"] == me["user_id"] and same_time(event["since"], ready["since"])
        code, busy = post_state(client, agent, "not_ready", "break")
        assert (code, busy["state"], busy["reason"]) == (200, "not_ready", "break")
        event = ws.receive_json()
        assert (event["state"], event["reason"], event["call_id"]) == ("not_ready", "break", "")
    again = client.get("/api/agents/me", headers=agent).json()
    assert (again["state"], again["reason"], again["since"]) == (
        "not_ready",
        "break",
        busy["since"],
    )
    assert again["seconds_in_state"] >= 0


def test_refused_moves_are_409_and_unknown_reasons_422(
    client: TestClient, login: Login, db: Database
) -> None:
    agent = login("agent")
    assert post_state(client, agent, "not_ready", "nap")[0] == 422
    assert post_state(client, agent, "not_ready")[0] == 422
    assert post_state(client, agent, "not_ready", "Break!")[0] == 422  # not even a code
    assert post_state(client, agent, "sleeping")[0] == 422
    code, body = post_state(client, agent, "on_call")
    assert code == 409 and "the system does" in body["detail"]
    assert post_state(client, agent, "ready")[0] == 200
    # The ACD offers a call: while it rings the agent cannot leave.
    with db.session() as session:
        set_state(session, load_queue_config(), user_id(db, "u-agent"), "ringing",
                  now=utcnow(), by="system", call_id="c-409")  # fmt: skip
    code, body = post_state(client, agent, "offline")
    assert code == 409 and "while ringing" in body["detail"]
    me = client.get("/api/agents/me", headers=agent).json()
    assert (me["state"], me["call_id"]) == ("ringing", "c-409")
    assert client.post("/api/agents/me/state", json={}, headers=agent).status_code == 422
    assert client.get("/api/agents/me").status_code == 401


def test_supervisors_see_every_agent_and_agents_do_not(client: TestClient, login: Login) -> None:
    agent = login("agent")
    post_state(client, agent, "ready")
    post_state(client, agent, "not_ready", "lunch")
    assert client.get("/api/agents", headers=agent).status_code == 403
    for role in ("supervisor", "qa", "admin"):
        rows = client.get("/api/agents", headers=login(role)).json()
        assert [r["username"] for r in rows] == ["u-agent"], role
    (row,) = rows
    assert (row["state"], row["reason"], row["role"]) == ("not_ready", "lunch", "agent")
    assert row["since"] and row["seconds_in_state"] >= 0
    assert set(row["today"]) == {"offline", "ready", "not_ready"}
    assert all(seconds >= 0 for seconds in row["today"].values())


def test_the_admin_sets_extension_phone_and_skills(
    client: TestClient, login: Login, db: Database
) -> None:
    admin, supervisor = login("admin"), login("supervisor")
    uid = user_id(db, "u-agent")
    body = {"extension": "8001", "phone_uri": "sip:8001@127.0.0.1:5080",
            "lines": ["customer", "rider"], "languages": ["zh", "en"], "level": 3}  # fmt: skip
    response = client.put(f"/api/agents/{uid}", json=body, headers=admin)
    assert response.status_code == 200, response.text
    out = response.json()
    assert {k: out[k] for k in body} == body
    assert out["state"] == "offline" and out["since"]
    # Only the fields given change; null empties the extension.
    out = client.put(f"/api/agents/{uid}", json={"level": 4, "extension": None},
                     headers=admin).json()  # fmt: skip
    assert (out["level"], out["extension"], out["lines"]) == (4, None, ["customer", "rider"])
    assert (
        client.put(f"/api/agents/{uid}", json={"level": 2}, headers=supervisor).status_code == 403
    )
    bad = [
        {"extension": "80-01"},
        {"phone_uri": "tel:8001"},
        {"phone_uri": "sip:" + "9" * 252},
        {"lines": []},
        {"lines": ["vip"]},
        {"languages": ["Chinese"]},
        {"level": 0},
        {"level": 6},
        {"colour": "red"},
    ]
    for fields in bad:
        r = client.put(f"/api/agents/{uid}", json=fields, headers=admin)
        assert r.status_code == 422, fields
    assert client.put("/api/agents/99999", json={"level": 2}, headers=admin).status_code == 404
    # An extension another agent has: 409.
    other = user_id(db, "u-supervisor")
    client.put(f"/api/agents/{other}", json={"extension": "8002"}, headers=admin)
    r = client.put(f"/api/agents/{uid}", json={"extension": "8002"}, headers=admin)
    assert r.status_code == 409 and "another agent" in r.json()["detail"]
    listed = {r["username"] for r in client.get("/api/agents", headers=admin).json()}
    assert listed == {"u-agent", "u-supervisor"}  # a supervisor with a profile takes calls too


def test_the_state_history_with_durations(client: TestClient, login: Login, db: Database) -> None:
    agent, qa, supervisor = login("agent"), login("qa"), login("supervisor")
    uid = user_id(db, "u-agent")
    post_state(client, agent, "ready")
    post_state(client, agent, "not_ready", "training")
    post_state(client, agent, "ready")
    path = f"/api/agents/{uid}/states"
    mine = client.get(path, headers=agent)
    assert mine.status_code == 200, mine.text
    rows = mine.json()
    assert [(r["state"], r["reason"]) for r in rows] == [
        ("offline", ""), ("ready", ""), ("not_ready", "training"), ("ready", ""),
    ]  # fmt: skip
    assert all(r["ended_at"] for r in rows[:-1]) and rows[-1]["ended_at"] is None
    assert all(r["seconds"] >= 0 for r in rows)
    seen_by_qa = client.get(path, headers=qa).json()
    assert [r["id"] for r in seen_by_qa] == [r["id"] for r in rows]
    # Another agent's history: only for supervisors, QA and admins.
    sup_id = user_id(db, "u-supervisor")
    assert client.get(f"/api/agents/{sup_id}/states", headers=agent).status_code == 403
    assert client.get(f"/api/agents/{sup_id}/states", headers=supervisor).json() == []
    assert client.get("/api/agents/99999/states", headers=supervisor).status_code == 404
    # A window before the first change holds nothing; since must come before until.
    early = (utcnow() - timedelta(days=3)).isoformat()
    earlier = (utcnow() - timedelta(days=4)).isoformat()
    r = client.get(path, params={"since": earlier, "until": early}, headers=supervisor)
    assert r.status_code == 200 and r.json() == []
    r = client.get(path, params={"since": early, "until": earlier}, headers=supervisor)
    assert r.status_code == 422
    r = client.get(path, params={"since": "2026-05-01T08:00:00"}, headers=supervisor)
    assert r.status_code == 422 and "time zone" in r.json()["detail"]


def test_every_staff_role_sees_agent_states() -> None:
    event = AgentStateChanged(user_id=1, username="u", display_name="u", state="ready")
    assert all(may_see(role, event) for role in ROLES)


def test_every_role_reads_the_queues(client: TestClient, login: Login) -> None:
    for role in ROLES:
        response = client.get("/api/queues", headers=login(role))
        assert response.status_code == 200, role
        queues = response.json()
        assert [q["name"] for q in queues] == ["customer", "rider", "merchant", "vip"]
        assert queues[0] == {"name": "customer", "zh": "顾客热线", "en": "Customers"}
        assert all(set(q) == {"name", "zh", "en"} for q in queues)  # no routing rules
    assert client.get("/api/queues").status_code == 401


def test_the_ready_agents_a_call_can_go_to(client: TestClient, login: Login, db: Database) -> None:
    agent, supervisor, qa, admin = (login(r) for r in ("agent", "supervisor", "qa", "admin"))
    ids = {role: user_id(db, f"u-{role}") for role in ("agent", "supervisor", "qa", "admin")}
    for role in ("agent", "supervisor"):  # a supervisor with a profile takes calls too
        uri = f"sip:80{ids[role]:02d}@127.0.0.1:5080"
        body = {"extension": f"80{ids[role]:02d}", "phone_uri": uri}
        assert client.put(f"/api/agents/{ids[role]}", json=body, headers=admin).status_code == 200
    assert client.get("/api/agents/available", headers=agent).json() == []  # all offline
    for headers in (agent, supervisor, admin):
        assert post_state(client, headers, "ready")[0] == 200
    post_state(client, qa, "ready")
    post_state(client, qa, "not_ready", "lunch")

    response = client.get("/api/agents/available", headers=agent)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["user_id"] for r in rows] == [ids["admin"], ids["supervisor"]]  # by user name
    assert rows[1] == {"user_id": ids["supervisor"], "display_name": "supervisor 张",
                       "state": "ready"}  # fmt: skip
    assert all(set(r) == {"user_id", "display_name", "state"} for r in rows)
    assert "sip:" not in response.text  # how to reach an agent is for supervisors only
    # Oneself is never a target; every role may ask (QA, not ready, sees the ready ones).
    seen = {
        role: [r["user_id"] for r in client.get("/api/agents/available", headers=h).json()]
        for role, h in (("supervisor", supervisor), ("qa", qa), ("admin", admin))
    }
    assert seen == {
        "supervisor": [ids["admin"], ids["agent"]],
        "qa": [ids["admin"], ids["agent"], ids["supervisor"]],
        "admin": [ids["agent"], ids["supervisor"]],
    }
    # Not ready, or a deactivated user: gone from the list.
    post_state(client, supervisor, "not_ready", "break")
    with db.session() as session:
        session.get_one(User, ids["admin"]).active = False
    assert client.get("/api/agents/available", headers=agent).json() == []
    assert client.get("/api/agents/available").status_code == 401
