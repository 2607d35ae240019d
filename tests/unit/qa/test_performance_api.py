"""The agent performance API: a supervisor sees every agent and the teams, an agent only
themselves (403 for another's trend); the trend as JSON and SVG; the CSV export."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.unit.qa.support import make_call
from tests.unit.qa.test_qa_api import user_id
from tests.unit.web.conftest import Login
from tingyin.store import Database

PERIOD = {"days": 2}


def test_who_sees_what(client: TestClient, login: Login, db: Database) -> None:
    agent, sup = user_id(db, "u-agent"), user_id(db, "u-supervisor")
    make_call(db, "pa", agent_id=agent, seconds=30)
    make_call(db, "ps", agent_id=sup, seconds=50)  # a supervisor who took a call is listed
    sup_h, agent_h = login("supervisor"), login("agent")
    everyone = client.get("/api/qa/performance", params=PERIOD, headers=sup_h)
    assert everyone.status_code == 200, everyone.text
    body = everyone.json()
    assert body["weights"]["satisfaction"] == 40 and body["timezone"]
    rows = {r["username"]: r["kpis"] for r in body["agents"]}
    assert set(rows) == {"u-agent", "u-supervisor"}
    assert rows["u-agent"]["handled"] == 1 and rows["u-agent"]["talk_seconds"] == 28
    assert rows["u-supervisor"]["aht_seconds"] == 48
    assert [t["team"] for t in body["teams"]] == [""] and body["teams"][0]["agents"] == 2
    assert body["teams"][0]["kpis"]["handled"] == 2
    no_team = client.get("/api/qa/performance", params=PERIOD | {"team": ""}, headers=sup_h)
    assert len(no_team.json()["agents"]) == 2
    other_team = client.get("/api/qa/performance", params=PERIOD | {"team": "一组"}, headers=sup_h)
    assert other_team.json()["agents"] == [] and other_team.json()["teams"] == []
    mine = client.get("/api/qa/performance", params=PERIOD, headers=agent_h).json()
    assert [r["username"] for r in mine["agents"]] == ["u-agent"] and mine["teams"] == []
    own = client.get(f"/api/qa/performance/{agent}/trend", params=PERIOD, headers=agent_h)
    assert own.status_code == 200 and own.json()["days"][0]["kpis"]["handled"] == 1
    other = client.get(f"/api/qa/performance/{sup}/trend", params=PERIOD, headers=agent_h)
    assert other.status_code == 403
    r = client.get(f"/api/qa/performance/{sup}/trend.svg", headers=agent_h)
    assert r.status_code == 403, r.text
    svg = client.get(f"/api/qa/performance/{agent}/trend.svg", params=PERIOD, headers=sup_h)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "综合得分" in svg.text and "<svg" in svg.text
    assert client.get("/api/qa/performance/99999/trend", headers=sup_h).status_code == 404
    assert client.get("/api/qa/performance").status_code == 401


def test_csv_export(client: TestClient, login: Login, db: Database) -> None:
    make_call(db, "pa", agent_id=user_id(db, "u-agent"), seconds=30)
    res = client.get("/api/qa/performance.csv", params=PERIOD, headers=login("qa"))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert "attachment" in res.headers["content-disposition"]
    assert res.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert table[0][0] == "坐席 (agent)" and "综合得分 (score)" in table[0]
    by_user = {row[1]: row for row in table[1:]}
    handled = table[0].index("接听量 (handled)")
    assert by_user["u-agent"][handled] == "1"
    assert table[-1][0] == "组合计 (team): 未分组 (no team)"
    mine = client.get("/api/qa/performance.csv", params=PERIOD, headers=login("agent"))
    assert len(list(csv.reader(io.StringIO(mine.content.decode("utf-8-sig"))))) == 2
