"""Tickets through the API: create, idempotency, repeats, transitions, compensation approval,
the customer's progress, bad input that stores nothing, the linked calls' summaries and the
queue of each responsible party."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.unit.web.conftest import Login
from tingyin.store import Database
from tingyin.store.models import Ticket, TicketEvent
from tingyin.tickets.rules import valid_ticket_number


def _new(client: TestClient, headers: dict[str, str], **body: object) -> tuple[int, Any]:
    response = client.post("/api/tickets", json=body, headers=headers)
    return response.status_code, response.json()


def test_a_ticket_from_opening_to_closing(client: TestClient, login: Login) -> None:
    agent, supervisor = login("agent"), login("supervisor")
    code, t = _new(
        client,
        agent,
        category="food_safety",
        order_no="8800000000000004",
        customer_phone="138 0000 0004",
        description="吃完以后拉肚子，怀疑变质",
    )
    assert code == 201, t
    number = t["number"]
    assert valid_ticket_number(number)
    assert (t["status"], t["priority"]) == ("accepted", "urgent")
    assert t["due_at"] is not None and t["sla_state"] in ("running", "warning", "breached")

    moved = client.post(
        f"/api/tickets/{number}/status", json={"status": "in_progress"}, headers=agent
    ).json()
    assert moved["status"] == "in_progress" and moved["first_response_at"]
    small = client.post(
        f"/api/tickets/{number}/compensations",
        json={"kind": "coupon", "amount_fen": 500},
        headers=agent,
    ).json()
    assert small["status"] == "applied"
    big = client.post(
        f"/api/tickets/{number}/compensations",
        json={"kind": "full_refund", "amount_fen": 4000},
        headers=agent,
    ).json()
    assert (big["status"], big["approval_level"]) == ("pending", "supervisor")
    path = f"/api/tickets/{number}/compensations/{big['id']}/decision"
    assert client.post(path, json={"approve": True}, headers=agent).status_code == 403
    assert (
        client.post(path, json={"approve": True}, headers=supervisor).json()["status"] == "applied"
    )
    assert client.post(path, json={"approve": True}, headers=supervisor).status_code == 409

    client.post(
        f"/api/tickets/{number}/notes", json={"text": "内部备注：商家已确认"}, headers=agent
    )
    for target in ("resolved", "closed"):
        r = client.post(f"/api/tickets/{number}/status", json={"status": target}, headers=agent)
        assert r.status_code == 200, r.json()
    detail = client.get(f"/api/tickets/{number}", headers=supervisor).json()
    assert detail["compensation_fen"] == 4500
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[0] == "created" and "note" in kinds and kinds.count("status") == 3

    progress = client.get(f"/api/tickets/{number}/progress", headers=agent).json()
    assert [s["status"] for s in progress["steps"]] == [
        "accepted",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert "商家已确认" not in str(progress) and "actor" not in str(progress)
    assert progress["status_label"]


def test_idempotent_client_keys_and_repeat_complaints(client: TestClient, login: Login) -> None:
    agent = login("agent")
    body = {
        "category": "late",
        "order_no": "8800000000000001",
        "channel": "app",
        "client_key": "app-req-000001",
    }
    first_code, first = _new(client, agent, **body)
    again_code, again = _new(client, agent, **body)
    assert (first_code, again_code) == (201, 200)
    assert again["number"] == first["number"]
    clash_code, _ = _new(client, agent, **(body | {"category": "spill"}))
    assert clash_code == 409
    # Same order within the window, from the phone this time: linked, not duplicated.
    repeat_code, repeat = _new(client, agent, category="late", order_no="8800000000000001")
    assert (repeat_code, repeat["number"], repeat["repeat"]) == (200, first["number"], True)


def test_bad_input_is_refused_and_nothing_is_stored(
    client: TestClient, login: Login, db: Database
) -> None:
    agent = login("agent")
    assert _new(client, agent, category="no_such_thing")[0] == 422
    assert _new(client, agent, category="late", description="长" * 4001)[0] == 422
    assert _new(client, agent, category="late", surprise=1)[0] == 422
    assert _new(client, agent, category="late", call_id="0123456789abcdef")[0] == 422
    assert client.post("/api/tickets", content=b"{", headers=agent).status_code == 422
    _, t = _new(client, agent, category="spill")
    number = t["number"]
    r = client.post(f"/api/tickets/{number}/status", json={"status": "closed"}, headers=agent)
    assert r.status_code == 409 and "cannot go from accepted" in r.json()["detail"]
    r = client.post(
        f"/api/tickets/{number}/compensations",
        json={"kind": "coupon", "amount_fen": -5},
        headers=agent,
    )
    assert r.status_code == 422
    assert client.get("/api/tickets/000000000000", headers=agent).status_code == 404
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == 1
    assert isinstance(datetime.fromisoformat(t["opened_at"]), datetime)


def test_meta_lists_the_policy_s_choices_with_labels(client: TestClient, login: Login) -> None:
    agent = login("agent")
    response = client.get("/api/tickets/meta", headers=agent)
    assert response.status_code == 200, response.text  # not taken for a ticket number
    meta = response.json()
    categories = {c["code"]: c for c in meta["categories"]}
    assert categories["food_safety"] == {
        "code": "food_safety",
        "zh": "食品安全/过敏",
        "en": "Food safety / allergy",
        "allows": ["coupon", "full_refund"],
    }
    assert list(categories)[-1] == "other"  # in the file's order
    assert {"code": "finance", "zh": "财务", "en": "Finance", "queue": "finance"} in meta["parties"]
    statuses = {s["code"]: s for s in meta["statuses"]}
    assert list(statuses) == ["accepted", "in_progress", "resolved", "closed", "reopened"]
    working = statuses["in_progress"]
    assert (working["zh"], working["en"], working["next"]) == (
        "处理中",
        "In progress",
        ["resolved"],
    )
    assert statuses["resolved"]["next"] == ["closed", "reopened"]
    kinds = {k["code"]: (k["zh"], k["en"]) for k in meta["compensation_kinds"]}
    assert kinds["partial_refund"] == ("部分退款", "Partial refund")
    assert meta["compensation_tiers"] == [
        {"up_to_fen": 1000, "approval": "none"},
        {"up_to_fen": 5000, "approval": "supervisor"},
    ]
    assert client.get("/api/tickets/meta").status_code == 401  # behind the login


def test_what_the_caller_said_raises_the_priority(
    client: TestClient, login: Login, db: Database
) -> None:
    from tingyin.asr.actions import apply_transcript_event
    from tingyin.bus.events import CallRinging, TranscriptFinal
    from tingyin.telephony.actions import apply_call_event

    call_id = "00112233445566778899aabbccddeeff"
    with db.session() as session:
        apply_call_event(
            session,
            CallRinging(
                call_id=call_id,
                sip_call_id="x",
                worker=0,
                caller="13800000001",
                dialed="4008001234",
            ),
        )
        apply_transcript_event(
            session,
            TranscriptFinal(
                call_id=call_id, leg="caller", start=1, end=3, text="吃了以后 食物 中毒 了"
            ),
        )
    code, t = _new(client, login("agent"), category="quality", call_id=call_id)
    assert code == 201, t
    assert t["priority"] == "urgent" and any("食物中毒" in r for r in t["priority_reasons"])


def _ring(db: Database, call_id: str, caller: str, at: datetime, *, recorded: bool) -> None:
    """A call the hub has recorded (or not) and ended, written as the hub writes it."""
    from tingyin.bus.events import CallAnswered, CallEnded, CallRinging
    from tingyin.telephony.actions import apply_call_event

    with db.session() as session:
        for event in (
            CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0, caller=caller,
                        dialed="4008001234", at=at),
            CallAnswered(call_id=call_id, at=at + timedelta(seconds=5)),
            CallEnded(call_id=call_id, reason="hangup", at=at + timedelta(seconds=95),
                      recording_path=f"{call_id}.wav" if recorded else None,
                      recording_seconds=90.0 if recorded else 0.0),
        ):  # fmt: skip
            apply_call_event(session, event)


def test_the_detail_summarises_its_calls_with_masked_numbers(
    client: TestClient, login: Login, db: Database
) -> None:
    agent = login("agent")
    first, second = "aa" * 16, "bb" * 16
    at = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    _ring(db, first, "+86 139 1234 5678", at, recorded=True)
    _ring(db, second, "anonymous", at + timedelta(hours=1), recorded=False)
    code, t = _new(client, agent, category="late", order_no="8800000000000001", call_id=first)
    assert code == 201, t
    code, again = _new(client, agent, category="late", order_no="8800000000000001", call_id=second)
    assert (code, again["number"]) == (200, t["number"])  # the repeat call joins the ticket

    detail = client.get(f"/api/tickets/{t['number']}", headers=agent).json()
    assert detail["calls"] == [first, second]  # ids, as before
    assert detail["linked_calls"] == [
        {
            "call_id": first,
            "started_at": at.isoformat().replace("+00:00", "Z"),
            "direction": "inbound",
            "caller": "139****5678",
            "duration_s": 95.0,
            "has_recording": True,
        },
        {
            "call_id": second,
            "started_at": (at + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            "direction": "inbound",
            "caller": "",  # withheld: nothing to mask
            "duration_s": 95.0,
            "has_recording": False,
        },
    ]
    assert "12345678" not in str(detail)  # the full number never leaves the server


def test_the_list_filters_by_responsible_party(client: TestClient, login: Login) -> None:
    agent = login("agent")
    _, late = _new(client, agent, category="late")
    _, other = _new(client, agent, category="spill", responsible_party="merchant_kitchen")
    assert (late["responsible_party"], other["responsible_party"]) == (
        "delivery",
        "merchant_kitchen",
    )

    def numbers(party: str) -> list[str]:
        response = client.get("/api/tickets", params={"party": party}, headers=agent)
        assert response.status_code == 200, response.text
        return [x["number"] for x in response.json()]

    assert numbers("delivery") == [late["number"]]
    assert numbers("merchant_kitchen") == [other["number"]]
    assert numbers("finance") == []
    assert len(client.get("/api/tickets", headers=agent).json()) == 2  # no filter: all of them
    unknown = client.get("/api/tickets", params={"party": "nobody"}, headers=agent)
    assert unknown.status_code == 422 and "unknown party 'nobody'" in unknown.json()["detail"]
