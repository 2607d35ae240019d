"""The database fixtures work: SELECT 1 on SQLite and on the throwaway PostgreSQL cluster."""

from __future__ import annotations

import sqlalchemy as sa


def test_select_one(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_each_use_gets_an_empty_database(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO probe (id) VALUES (1)"))
        assert sa.inspect(engine).get_table_names() == ["probe"]
    finally:
        engine.dispose()


def test_postgres_url_is_the_tingyin_database(postgres_url: str) -> None:
    url = sa.make_url(postgres_url)
    assert (url.drivername, url.username, url.host, url.database) == (
        "postgresql+psycopg",
        "tingyin",
        "127.0.0.1",
        "tingyin",
    )
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "tingyin"
    finally:
        engine.dispose()
