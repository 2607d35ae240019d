"""The web app over a real SQLite store (migrated) and the real EventBus it creates itself.

Each test gets a fresh database file; data is built through the features' ``actions``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tingyin.accounts.actions import create_user
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.web.app import create_app
from tingyin.web.context import AppContext

PASSWORD = "correct-horse-1"
SECRET_KEY = "unit-test-secret-key-0123456789-abcdef"
ROLES = ("admin", "supervisor", "qa", "agent")

Login = Callable[[str], dict[str, str]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated, with one user per role: built once (argon2 and Alembic are slow), copied."""
    path = tmp_path_factory.mktemp("template") / "tingyin.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    with database.session() as session:
        for role in ROLES:
            create_user(session, f"u-{role}", PASSWORD, role, display_name=f"{role} 张")
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def db(settings: Settings, template_db: Path) -> Iterator[Database]:
    url = settings.resolved_database_url
    shutil.copyfile(template_db, url.removeprefix("sqlite:///"))
    database = Database(url)
    database.migrate()  # a no-op, proving the copy is at head
    yield database
    database.dispose()


@pytest.fixture
def context(settings: Settings, db: Database) -> AppContext:
    return AppContext(settings, db, SECRET_KEY, health=lambda: {"workers": []})


@pytest.fixture
def app(context: AppContext) -> FastAPI:
    return create_app(context)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def login(client: TestClient) -> Login:
    """Log a role in; returns its Authorization header and leaves the client's cookies empty."""

    def log_in(role: str) -> dict[str, str]:
        response = client.post(
            "/api/auth/token", data={"username": f"u-{role}", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.cookies.clear()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return log_in
