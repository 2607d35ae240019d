"""Browser tests: headless Debian Chromium driven by Python Playwright, on loopback only.

- ``browser`` (session): one Chromium for the whole run. Playwright's own browser downloads
  are not used; Debian's ``/usr/bin/chromium`` is (``scripts/setup.sh --test`` installs it).
  On CI a missing Chromium or Playwright fails the tests; elsewhere they are skipped.
- ``page``: a fresh browser context (no cookies) at 1440×900, Chinese, Shanghai time. Any
  request it makes to a host other than 127.0.0.1 is refused and fails the test.
- ``log_in(page, base_url, username, password)``: through the real login page.
- ``screenshot(page, name)``: saved under ``$TINGYIN_ARTIFACTS`` or ``<repo>/test-artifacts/``.
- ``missing_tool(message)``: fails on CI, skips elsewhere.
- ``desk_app``: the web app alone (no telephony) served by uvicorn on 127.0.0.1 in a thread,
  with an agent user; tests publish events on its bus.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import on_ci

# Prints a failed module's hub logs (serving_module reads the flag this hook sets).
from tests.integration.conftest import pytest_runtest_makereport  # noqa: F401
from tingyin.accounts.actions import create_user
from tingyin.bus import EventBus
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.web.app import create_app
from tingyin.web.context import AppContext

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route, ViewportSize

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TINGYIN_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}

# Keep Chromium off the network: no background services, no QUIC, and every host name except
# loopback resolves to nothing (the tests use 127.0.0.1 literally anyway).
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-gpu",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]

AGENT = "agent-e2e"
PASSWORD = "e2e-pass-123456"
SECRET_KEY = "e2e-test-secret-key-0123456789-abcdefgh"


def artifacts_dir() -> Path:
    path = Path(os.environ.get("TINGYIN_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG under the artifacts directory, e.g. ``desk-screenpop.png``."""
    path = artifacts_dir() / name
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, base_url: str, username: str, password: str, then: str = "/desk") -> None:
    """Log in through the real login page, then open ``then``."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    # The login page sends agents to the desk and everyone else to the calls page.
    page.wait_for_url(lambda url: url.rstrip("/") in (base_url, f"{base_url}/desk"))
    if then and not page.url.endswith(then):
        page.goto(f"{base_url}{then}")


def missing_tool(message: str) -> NoReturn:
    """Fail on CI, skip elsewhere: a test tool is not installed."""
    message += " (run scripts/setup.sh --test)"
    if on_ci():
        pytest.fail(message, pytrace=False)  # on CI a missing tool is a failure
    pytest.skip(message)


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, and every later test calling asyncio.run() would then fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing_tool(f"browser tests need Python Playwright: {exc}")
    if not os.access(CHROMIUM, os.X_OK):
        missing_tool(f"browser tests need Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def loopback_tab(browser: Browser) -> Iterator[Page]:
    """A tab in a context of its own that may only reach 127.0.0.1 and must raise no errors."""
    context = browser.new_context(
        viewport=VIEWPORT,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    refused: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    errors: list[str] = []
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not refused, f"the page asked for hosts other than 127.0.0.1: {refused}"
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with loopback_tab(browser) as tab:
        yield tab


# -- the web app alone, served in a thread -----------------------------------------------------
@dataclass
class ServedApp:
    base_url: str
    app: FastAPI
    db: Database

    @property
    def bus(self) -> EventBus:
        bus = self.app.state.bus
        assert isinstance(bus, EventBus)
        return bus


@pytest.fixture(scope="module")
def desk_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    data_dir = tmp_path_factory.mktemp("desk") / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir)
    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.session() as session:
        create_user(session, AGENT, PASSWORD, "agent", display_name="王小听")
    app = create_app(AppContext(settings, db, SECRET_KEY, health=lambda: {"workers": []}))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield ServedApp(f"http://127.0.0.1:{port}", app, db)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        db.dispose()
