"""The call-control API for attended transfer and blind transfer to an outside number: who may,
when (409 without a consult, or while one rings), and what reaches the bus. The consult's
state is read from the CDR rows its ``ConsultLeg`` events leave, written here as the hub's CDR
writer would."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tingyin.accounts.actions import create_user
from tingyin.agents.actions import ensure_profile, set_state
from tingyin.agents.config import load_queue_config
from tingyin.bus.events import (
    ConsultLeg,
    ConsultRequested,
    OutsideTransferRequested,
    utcnow,
)
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.telephony.actions import apply_call_event
from tingyin.web.events import may_see

from .conftest import PASSWORD, Login
from .support import app_bus, make_call


def _user_id(db: Database, username: str) -> int:
    with db.session() as session:
        return int(session.scalars(select(User.id).where(User.username == username)).one())


def _move(db: Database, user_id: int, *states: str, call_id: str | None = None) -> None:
    with db.session() as session:
        for state in states:
            set_state(session, load_queue_config(), user_id, state, now=utcnow(), by="system",
                      call_id=call_id)  # fmt: skip


def _consult_row(db: Database, state: str, agent_id: int, from_agent: int) -> None:
    with db.session() as session:
        apply_call_event(session, ConsultLeg(call_id="c1", leg_id="L", state=state,
                                             agent_id=agent_id, from_agent=from_agent))  # fmt: skip


def _collect(client: TestClient) -> list[ConsultRequested | OutsideTransferRequested]:
    seen: list[ConsultRequested | OutsideTransferRequested] = []

    async def keep(event: ConsultRequested | OutsideTransferRequested) -> None:
        seen.append(event)

    bus = app_bus(client)
    bus.subscribe(ConsultRequested, keep)
    bus.subscribe(OutsideTransferRequested, keep)
    return seen


def test_consult_start_complete_and_cancel(client: TestClient, login: Login, db: Database) -> None:
    with db.session() as session:
        ensure_profile(session, create_user(session, "u-agent2", PASSWORD, "agent"))
    make_call(db, "c1", ended=False)
    first, second = _user_id(db, "u-agent"), _user_id(db, "u-agent2")
    agent, qa, supervisor = (login(r) for r in ("agent", "qa", "supervisor"))
    token = client.post("/api/auth/token", data={"username": "u-agent2", "password": PASSWORD})
    colleague = {"Authorization": f"Bearer {token.json()['access_token']}"}
    client.cookies.clear()
    seen = _collect(client)
    url = "/api/calls/c1/consult"

    assert client.post("/api/calls/nope/consult", json={"agent_id": second},
                       headers=supervisor).status_code == 404  # fmt: skip
    assert client.post(url, json={"agent_id": second}, headers=agent).status_code == 403
    _move(db, first, "ready", "ringing", "on_call", call_id="c1")  # the ACD gave it to them
    assert client.post(url, json={"agent_id": second}, headers=qa).status_code == 403
    busy = client.post(url, json={"agent_id": second}, headers=agent)
    assert busy.status_code == 409, busy.text  # the colleague is not ready
    assert client.post(url, json={"agent_id": 9999}, headers=agent).status_code == 422
    assert client.post(url, json={"agent_id": first}, headers=agent).status_code == 409  # self
    _move(db, second, "ready")
    started = client.post(url, json={"agent_id": second}, headers=agent)
    assert started.status_code == 202, started.text
    assert started.json() == {"call_id": "c1", "status": "consulting", "agent_id": second}
    assert client.post(f"{url}/cancel", headers=agent).status_code == 409  # not rung yet

    # The worker rings the colleague: one consult at a time; complete once they answer.
    _consult_row(db, "ringing", second, first)
    assert client.post(url, json={"agent_id": second}, headers=agent).status_code == 409
    assert client.post(f"{url}/complete", headers=agent).status_code == 409
    assert client.post("/api/calls/c1/transfer", json={"queue": "customer"},
                       headers=agent).status_code == 409  # fmt: skip
    _consult_row(db, "answered", second, first)
    _move(db, second, "ringing", "on_call", call_id="c1")
    assert client.post(f"{url}/complete", headers=colleague).status_code == 403
    assert client.post(f"{url}/complete", headers=qa).status_code == 403
    assert client.post(f"{url}/sideways", headers=agent).status_code == 422
    done = client.post(f"{url}/complete", headers=agent)
    assert done.status_code == 202 and done.json()["status"] == "completing", done.text
    assert client.post(f"{url}/cancel", headers=supervisor).status_code == 202
    _consult_row(db, "completed", second, first)
    assert client.post(f"{url}/cancel", headers=agent).status_code == 409

    client.portal.call(app_bus(client).drain)  # type: ignore[union-attr]
    asked = [(e.action, e.agent_id) for e in seen if isinstance(e, ConsultRequested)]
    assert asked == [("start", second), ("complete", 0), ("cancel", 0)]


def test_a_transfer_to_an_outside_number(
    client: TestClient, login: Login, db: Database, settings: Settings
) -> None:
    make_call(db, "c1", ended=False)
    _move(db, _user_id(db, "u-agent"), "ready", "ringing", "on_call", call_id="c1")
    agent = login("agent")
    url = "/api/calls/c1/transfer"
    both = client.post(url, json={"queue": "customer", "number": "13912345678"}, headers=agent)
    assert both.status_code == 422
    assert client.post(url, json={"number": "12"}, headers=agent).status_code == 422
    off = client.post(url, json={"number": "13912345678"}, headers=agent)
    assert off.status_code == 409 and "outbound" in off.text  # no outbound route configured
    settings.outbound.dial_uri = "sip:{number}@127.0.0.1:5070"
    seen = _collect(client)
    sent = client.post(url, json={"number": "139-1234-5678"}, headers=agent)
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"call_id": "c1", "status": "transferring", "number": "139****5678"}
    client.portal.call(app_bus(client).drain)  # type: ignore[union-attr]
    assert [
        (e.call_id, e.number if isinstance(e, OutsideTransferRequested) else "") for e in seen
    ] == [("c1", "13912345678")]
    # The event with the full number never reaches a browser.
    event = OutsideTransferRequested(call_id="c1", number="13912345678")
    assert not any(may_see(role, event) for role in ("agent", "supervisor", "qa", "admin"))
