"""/ws/softphone refuses who may not use it; the full call path is in
tests/integration/test_softphone.py (aiortc) and tests/e2e/test_softphone_page.py (Chromium),
and who may listen, whisper or barge in tests/integration/test_monitor.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from .conftest import Login

pytestmark = pytest.mark.timeout(30)


def test_no_login_no_softphone(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/softphone"):
        pass
    assert refused.value.code == 4401


def test_without_media_workers_the_socket_says_unavailable(
    client: TestClient, login: Login
) -> None:
    token = login("agent")["Authorization"].removeprefix("Bearer ")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/ws/softphone?token={token}"),
    ):
        pass
    assert refused.value.code == 4503
