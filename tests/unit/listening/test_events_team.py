"""/ws/events with ``listening.restrict_to_team``: a supervisor (or QA user) gets their team's
agents and calls live and not another team's (a call in progress at connect time included); an
admin gets everything; a broken team file closes the socket with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.unit.listening.test_desk_mirror import on_call
from tests.unit.web.conftest import PASSWORD, Login
from tests.unit.web.support import app_bus
from tingyin.accounts.actions import create_user
from tingyin.bus.events import AgentStateChanged, CallRinging, TranscriptFinal
from tingyin.config import Settings
from tingyin.config.settings import ListeningSettings, QaSettings
from tingyin.store import Database
from tingyin.web.events import TEAM_FILE_BROKEN

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """一组 = u-agent and u-supervisor; B = u-qa and u-other (another team's agent)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    kpi = tmp_path / "kpi.toml"
    kpi.write_text(
        '[weights]\nqa = 100\n[teams]\n"一组" = ["u-agent", "u-supervisor"]\n'
        'B = ["u-qa", "u-other"]\n',
        encoding="utf-8",
    )
    return Settings(
        data_dir=data_dir,
        listening=ListeningSettings(restrict_to_team=True),
        qa=QaSettings(kpi_file=kpi),
    )


def token(login: Login, role: str) -> str:
    return login(role)["Authorization"].removeprefix("Bearer ")


def until_marker(ws: WebSocketTestSession) -> list[tuple[str, Any]]:
    """(type, whose or which call) of each event before the marker call's ringing."""
    seen: list[tuple[str, Any]] = []
    while (event := ws.receive_json())["call_id"] != "c-marker":
        seen.append((event["type"], event.get("username") or event["call_id"]))
    return seen


def test_a_restricted_supervisor_gets_their_team_only(
    client: TestClient, db: Database, login: Login
) -> None:
    with db.session() as session:
        create_user(session, "u-other", PASSWORD, "agent")
    theirs = on_call(db, "c-before", "u-other")  # on a call already when the sockets open
    ours = on_call(db, "c-ours", "u-agent")
    roles = ("supervisor", "qa", "admin")
    urls = {role: f"/ws/events?token={token(login, role)}" for role in roles}
    with (
        client.websocket_connect(urls["supervisor"]) as supervisor,
        client.websocket_connect(urls["qa"]) as qa,
        client.websocket_connect(urls["admin"]) as admin,
    ):
        bus = app_bus(client)
        for username, user_id, call_id in (("u-agent", ours, "c-ours"),
                                           ("u-other", theirs, "c-theirs")):  # fmt: skip
            bus.publish(AgentStateChanged(user_id=user_id, username=username, display_name="",
                                          state="ringing", call_id=call_id))  # fmt: skip
        for call_id in ("c-theirs", "c-before", "c-ours", "c-new"):
            bus.publish(TranscriptFinal(call_id=call_id, leg="caller", start=0.0, end=1.0,
                                        text="我的外卖洒了"))  # fmt: skip
        bus.publish(CallRinging(call_id="c-marker", sip_call_id="s", worker=0,
                                caller="138****5678", dialed="400"))  # fmt: skip
        lines = [("TranscriptFinal", c) for c in ("c-theirs", "c-before", "c-ours", "c-new")]
        assert until_marker(supervisor) == [
            ("AgentStateChanged", "u-agent"),
            ("TranscriptFinal", "c-ours"),
            ("TranscriptFinal", "c-new"),  # nobody's call yet: visible
        ]
        assert until_marker(qa) == [  # team B: u-other's
            ("AgentStateChanged", "u-other"),
            ("TranscriptFinal", "c-theirs"),
            ("TranscriptFinal", "c-before"),
            ("TranscriptFinal", "c-new"),
        ]
        assert until_marker(admin) == [
            ("AgentStateChanged", "u-agent"),
            ("AgentStateChanged", "u-other"),
            *lines,
        ]


def test_a_broken_team_file_closes_the_socket(
    client: TestClient, login: Login, settings: Settings
) -> None:
    assert settings.qa.kpi_file is not None
    settings.qa.kpi_file.write_text("[weights]\nqa = 50\n", encoding="utf-8")
    url = f"/ws/events?token={token(login, 'supervisor')}"
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(url) as ws:
        ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (4503, TEAM_FILE_BROKEN)
    with client.websocket_connect(f"/ws/events?token={token(login, 'admin')}") as ws:
        app_bus(client).publish(CallRinging(call_id="c-marker", sip_call_id="s", worker=0,
                                            caller="138****5678", dialed="400"))  # fmt: skip
        assert ws.receive_json()["call_id"] == "c-marker"
