"""Fixtures shared by all tests.

- ``postgres_url`` (session): a throwaway PostgreSQL cluster, started on first use and stopped
  at the end of the session; the URL of its empty ``tingyin`` database.
- ``database_url``: parametrized over SQLite and PostgreSQL; each use gets its own empty
  database (a file in ``tmp_path``, or a fresh ``t_<random>`` database dropped afterwards).
- ``db``: a migrated SQLite ``Database`` in ``tmp_path`` (the quick store for unit tests).

House rule: on CI (``CI=true``) a missing PostgreSQL fails the tests that need it; elsewhere
they are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgcluster
from tests.pgcluster import PgCluster, PostgresNotFound
from tingyin.store import Database


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        bindir = pgcluster.find_bindir()
    except PostgresNotFound as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        if on_ci():
            pytest.fail(f"PostgreSQL is required on CI: {missing}", pytrace=False)
        pytest.skip(missing)
    cluster = PgCluster.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(pg_cluster: PgCluster) -> str:
    """``postgresql+psycopg://tingyin@127.0.0.1:PORT/tingyin``, shared by the whole session."""
    return pg_cluster.url()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tingyin.db'}"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 't.db'}")
    database.migrate()
    yield database
    database.dispose()
