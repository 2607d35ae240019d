"""GET /api/room and /ws/calls/{id}/audio with ``listening.restrict_to_team``: a supervisor or
QA user sees and hears only their teams' agents, calls and alerts (the queue figures stay
whole); an admin sees everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.listening.test_room_api import seed
from tests.unit.web.conftest import Login
from tingyin.config import Settings
from tingyin.config.settings import ListeningSettings, QaSettings
from tingyin.store import Database


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The web fixtures' settings, restricted to teams: 一组 = u-agent and u-supervisor."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    kpi = tmp_path / "kpi.toml"
    kpi.write_text(
        '[weights]\nqa = 100\n[teams]\n"一组" = ["u-agent", "u-supervisor"]\nB = ["u-qa"]\n',
        encoding="utf-8",
    )
    return Settings(
        data_dir=data_dir,
        listening=ListeningSettings(restrict_to_team=True),
        qa=QaSettings(kpi_file=kpi),
    )


def test_a_supervisor_sees_their_team(client: TestClient, db: Database, login: Login) -> None:
    agent = seed(db)
    room = client.get("/api/room", headers=login("supervisor")).json()
    assert [a["user_id"] for a in room["agents"]] == [agent]
    assert [c["call_id"] for c in room["calls"]] == ["c-live"]  # not c-wait: nobody's yet
    assert [a["call_id"] for a in room["alerts"]] == ["c-live"]


def test_qa_of_another_team_sees_only_the_figures(
    client: TestClient, db: Database, login: Login
) -> None:
    seed(db)
    room = client.get("/api/room", headers=login("qa")).json()
    assert (room["agents"], room["calls"], room["alerts"]) == ([], [], [])
    assert (room["queues"]["waiting"], room["queues"]["answered_today"]) == (1, 1)


def test_an_admin_sees_everything(client: TestClient, db: Database, login: Login) -> None:
    seed(db)
    room = client.get("/api/room", headers=login("admin")).json()
    assert {c["call_id"] for c in room["calls"]} == {"c-live", "c-wait"}
    assert len(room["alerts"]) == 1


def test_a_broken_team_file_is_a_503(client: TestClient, login: Login, settings: Settings) -> None:
    assert settings.qa.kpi_file is not None
    settings.qa.kpi_file.write_text("[weights]\nqa = 50\n", encoding="utf-8")
    response = client.get("/api/room", headers=login("supervisor"))
    assert response.status_code == 503 and "100" in response.json()["detail"]
    assert client.get("/api/room", headers=login("admin")).status_code == 200


def test_the_audio_socket_asks_the_same(client: TestClient, db: Database, login: Login) -> None:
    """/ws/calls/{id}/audio: another team's call is refused; one's own passes the check (and
    finds no media workers here)."""
    seed(db)

    def closed(role: str) -> tuple[int, str]:
        token = login(role)["Authorization"].removeprefix("Bearer ")
        url = f"/ws/calls/c-live/audio?token={token}"
        with pytest.raises(WebSocketDisconnect) as gone, client.websocket_connect(url) as ws:
            ws.receive_text()
        return gone.value.code, gone.value.reason

    assert closed("qa") == (4403, "this call's agent is not in your team")
    assert closed("agent")[0] == 4403
    assert closed("supervisor")[0] == 4404
    assert closed("admin")[0] == 4404
