"""The QA API over a real store: a live and a post-call score, an agent refused, a calibration
of two blind scores, an appeal round-trip, comments, the automatic proposal and the queue."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.unit.qa.support import make_call
from tests.unit.qa.synth import planted_call
from tests.unit.web.conftest import Login
from tingyin.audit.queries import recent_audit
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.web.auth import COOKIE_NAME

CALL = "c" * 32


def user_id(db: Database, username: str) -> int:
    with db.session() as session:
        found = session.scalars(select(User.id).where(User.username == username)).one()
        return int(found)


def answers(resolution: str = "satisfied", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "greeting": "yes", "tone": 4, "order_asked": "yes", "order_confirmed": "yes",
        "privacy": "yes", "empathy": "yes", "no_forbidden": "yes", "promised_time": "na",
        "remedy": 5, "dead_air": "yes", "listening": "yes", "closing": "yes",
        "satisfaction_question": "no", "resolution": resolution,
    }  # fmt: skip
    return base | changes


@pytest.fixture
def call(db: Database, settings: Settings) -> str:
    planted_call(settings.recordings_dir / "2026" / "c.wav")
    make_call(db, CALL, agent_id=user_id(db, "u-agent"), recording="2026/c.wav")
    return CALL


def test_scores_live_and_after_the_call(client: TestClient, login: Login, db: Database) -> None:
    make_call(db, "on-air", agent_id=user_id(db, "u-agent"), ended=False)
    make_call(db, "done", agent_id=user_id(db, "u-agent"))
    sup, agent = login("supervisor"), login("agent")
    card = client.get("/api/qa/scorecard", headers=agent).json()
    assert card["version"] == 1 and card["definition"]["sections"][0]["title"] == "开场"
    live = client.post("/api/qa/calls/on-air/evaluations", headers=sup,
                       json={"kind": "live", "answers": answers()})  # fmt: skip
    assert live.status_code == 201, live.text
    assert live.json()["kind"] == "live" and live.json()["agent_id"] == user_id(db, "u-agent")
    assert live.json()["resolution_level"] == "satisfied"
    early = client.post("/api/qa/calls/on-air/evaluations", headers=sup,
                        json={"kind": "post_call", "answers": answers()})  # fmt: skip
    assert early.status_code == 409
    post = client.post("/api/qa/calls/done/evaluations", headers=login("qa"),
                       json={"kind": "post_call", "answers": answers(no_forbidden="no"),
                             "comment": "说了禁语"})  # fmt: skip
    assert post.status_code == 201
    assert post.json()["critical_failed"] and post.json()["total"] == 0
    refused = client.post("/api/qa/calls/done/evaluations", headers=agent,
                          json={"kind": "post_call", "answers": answers()})  # fmt: skip
    assert refused.status_code == 403
    bad = client.post("/api/qa/calls/done/evaluations", headers=sup,
                      json={"kind": "post_call", "answers": answers(greeting="maybe")})  # fmt: skip
    assert bad.status_code == 422 and "item greeting" in bad.json()["detail"]
    review = client.get("/api/qa/calls/done", headers=sup).json()
    assert [e["total"] for e in review["evaluations"]] == [0]
    assert review["comments"][0]["text"] == "说了禁语" and review["caller"] == "138****5678"
    assert client.get("/api/qa/calls/done", headers=agent).status_code == 403
    with db.session() as session:
        assert [a.action for a in recent_audit(session)].count("qa.evaluate") == 2


def test_the_automatic_proposal_waveform_and_comments(
    client: TestClient, login: Login, call: str
) -> None:
    sup = login("supervisor")
    assert client.get(f"/api/qa/calls/{call}/auto", headers=sup).status_code == 404
    run = client.post(f"/api/qa/calls/{call}/auto", headers=sup)
    assert run.status_code == 200, run.text
    assert run.json()["critical_failed"]  # the planted 不知道
    assert "low_auto" in run.json()["review_reasons"]
    auto = client.get(f"/api/qa/calls/{call}/auto", headers=sup).json()
    assert auto["answers"]["greeting"] == "yes" and auto["answers"]["no_forbidden"] == "no"
    assert auto["metrics"]["longest_silence_s"] == pytest.approx(5.0, abs=0.1)
    queue = client.get("/api/qa/review-queue", headers=sup).json()
    assert {q["reason"] for q in queue if q["call_id"] == call} >= {"low_auto"}
    wave = client.get(f"/api/qa/calls/{call}/peaks?buckets=300", headers=sup).json()
    assert wave["seconds"] == 30.0 and len(wave["agent"]) == 300 and max(wave["agent"]) > 0.1
    note = client.post(f"/api/qa/calls/{call}/comments", headers=sup,
                       json={"at_seconds": 21.2, "text": "这里说了“不知道”"})  # fmt: skip
    assert note.status_code == 201 and note.json()["author"] == "supervisor 张"
    outside = client.post(f"/api/qa/calls/{call}/comments", headers=sup,
                          json={"at_seconds": 99, "text": "x"})  # fmt: skip
    assert outside.status_code == 422
    post = client.post(f"/api/qa/calls/{call}/evaluations", headers=sup,
                       json={"kind": "post_call", "answers": answers()})  # fmt: skip
    assert post.status_code == 201
    assert client.get("/api/qa/review-queue", headers=sup).json() == []  # reviewed


def test_a_calibration_of_two_blind_scores(client: TestClient, login: Login, call: str) -> None:
    sup, qa = login("supervisor"), login("qa")
    made = client.post("/api/qa/calibrations", headers=sup, json={"call_id": call, "note": "周会"})
    assert made.status_code == 201
    cal = made.json()["id"]
    url = f"/api/qa/calls/{call}/evaluations"
    body = {"kind": "post_call", "calibration_id": cal}
    first = client.post(url, headers=sup, json=body | {"answers": answers("resolved")})
    assert first.status_code == 201
    blind = client.get(f"/api/qa/calibrations/{cal}", headers=qa).json()
    assert blind["count"] == 1 and not blind["scored"]
    assert blind["spread"] is None and blind["evaluations"] == []
    second = client.post(url, headers=qa,
                         json=body | {"answers": answers("delighted", greeting="no")})  # fmt: skip
    assert second.status_code == 201
    again = client.post(url, headers=qa, json=body | {"answers": answers()})
    assert again.status_code == 409
    seen = client.get(f"/api/qa/calibrations/{cal}", headers=qa).json()
    assert seen["scored"] and seen["spread"]["count"] == 2
    low, high = sorted([first.json()["total"], second.json()["total"]])
    assert (seen["spread"]["low"], seen["spread"]["high"]) == (low, high)
    assert seen["spread"]["disagreements"]["greeting"] == {"yes": 1, "no": 1}
    assert seen["spread"]["resolution_levels"] == {"resolved": 1, "delighted": 1}
    # Calibration scores are not the call's final score.
    assert client.get(f"/api/qa/calls/{call}", headers=sup).json()["evaluations"] == []


def test_an_appeal_round_trip(client: TestClient, login: Login, call: str, db: Database) -> None:
    sup, qa, agent = login("supervisor"), login("qa"), login("agent")
    client.post(f"/api/qa/calls/{call}/auto", headers=sup)
    scored = client.post(f"/api/qa/calls/{call}/evaluations", headers=qa,
                         json={"kind": "post_call",
                               "answers": answers("unresolved", empathy="no")})  # fmt: skip
    evaluation = scored.json()
    mine = client.get("/api/qa/my/evaluations", headers=agent).json()
    assert [m["evaluation"]["id"] for m in mine] == [evaluation["id"]]
    assert any(f["check"] == "no_forbidden" and f["evidence"] for f in mine[0]["evidence"])
    assert client.get("/api/qa/my/evaluations", headers=qa).json() == []
    url = f"/api/qa/evaluations/{evaluation['id']}/appeals"
    assert client.post(url, headers=sup, json={"reason": "x"}).status_code == 403  # not theirs
    appeal = client.post(url, headers=agent, json={"reason": "我道歉了，在 14 秒"})
    assert appeal.status_code == 201 and appeal.json()["status"] == "open"
    assert client.post(url, headers=agent, json={"reason": "again"}).status_code == 409
    assert [a["id"] for a in client.get("/api/qa/appeals?status=open", headers=sup).json()] == [
        appeal.json()["id"]
    ]
    decide = f"/api/qa/appeals/{appeal.json()['id']}/decision"
    verdict = {"outcome": "upheld", "decision": "录音 14 秒处有致歉", "answers": {"empathy": "yes"}}
    assert client.post(decide, headers=agent, json=verdict).status_code == 403
    assert client.post(decide, headers=qa, json=verdict).status_code == 403
    done = client.post(decide, headers=sup, json=verdict)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "upheld"
    assert done.json()["previous_total"] == evaluation["total"]
    assert [step["action"] for step in done.json()["log"]] == ["opened", "upheld"]
    assert client.post(decide, headers=sup, json=verdict).status_code == 409
    after = client.get("/api/qa/my/evaluations", headers=agent).json()[0]
    assert after["evaluation"]["total"] > evaluation["total"]
    assert after["appeals"][0]["decision"] == "录音 14 秒处有致歉"
    with db.session() as session:
        actions = [a.action for a in recent_audit(session)]
    assert actions[:2] == ["qa.appeal.decide", "qa.appeal.open"]


def test_the_qa_page_is_for_reviewers(client: TestClient, login: Login) -> None:
    for role, expected in (("supervisor", 200), ("qa", 200), ("admin", 200), ("agent", 303)):
        headers = login(role)
        token = headers["Authorization"].removeprefix("Bearer ")
        client.cookies.set(COOKIE_NAME, token)
        response = client.get("/qa", follow_redirects=False)
        assert response.status_code == expected, role
        client.cookies.clear()
