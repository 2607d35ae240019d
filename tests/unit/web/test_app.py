"""The app as a whole: health, OpenAPI, pages and their login redirect, errors, the bus."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tingyin.bus import EventBus
from tingyin.bus.events import Event, WorkerReady
from tingyin.web.app import create_app
from tingyin.web.context import AppContext

from .conftest import PASSWORD
from .support import app_bus


def test_health_is_public(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "parts": {"workers": []}}


def test_openapi_describes_the_api_and_its_login(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/calls", "/api/calls/{call_id}/recording", "/api/auth/token"} <= set(spec["paths"])
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "oauth2" for s in schemes.values())
    assert "/login" not in spec["paths"]  # pages are not API
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


@pytest.mark.parametrize(("path", "target"), [("/", "/login"), ("/?lang=en", "/login?lang=en")])
def test_pages_send_strangers_to_the_login(client: TestClient, path: str, target: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == target
    client.cookies.set("tingyin_token", "forged.token.value")
    assert client.get(path, follow_redirects=False).headers["location"] == target


def test_pages_with_a_login(client: TestClient) -> None:
    login_page = client.get("/login")
    assert login_page.status_code == 200 and 'src="/static/login.js"' in login_page.text
    assert "default-src 'self'" in login_page.headers["content-security-policy"]
    client.post("/api/auth/token", data={"username": "u-agent", "password": PASSWORD})
    calls_page = client.get("/", follow_redirects=False)
    assert calls_page.status_code == 200
    assert calls_page.headers["content-type"].startswith("text/html")
    assert 'src="/static/calls.js"' in calls_page.text
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"


@pytest.mark.parametrize("name", ["i18n.js", "calls.js", "login.js", "app.css"])
def test_static_files_are_served_locally(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text  # no CDN


def test_an_unexpected_error_is_a_bare_500_and_logged_masked(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("lookup of 13812345678 failed at /srv/secret/path")

    app.add_api_route("/boom", boom)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="tingyin.web.errors"),
    ):
        response = client.get("/boom?token=abc.def.ghi")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert "ValueError" in caplog.text and "138****5678" in caplog.text
    assert "13812345678" not in caplog.text and "abc.def.ghi" not in caplog.text


def test_the_app_starts_its_own_bus(client: TestClient) -> None:
    bus = app_bus(client)
    received: list[Event] = []

    async def collect(event: WorkerReady) -> None:
        received.append(event)

    bus.subscribe(WorkerReady, collect)
    bus.publish(WorkerReady(worker=0, sip_host="h", sip_port=1, pid=1))
    client.portal.call(bus.drain)  # type: ignore[union-attr]
    assert len(received) == 1


def test_a_given_bus_is_used(context: AppContext) -> None:
    loop = asyncio.new_event_loop()
    try:
        bus = EventBus(loop)
        context.bus = bus
        with TestClient(create_app(context)) as client:
            assert app_bus(client) is bus
    finally:
        loop.close()
