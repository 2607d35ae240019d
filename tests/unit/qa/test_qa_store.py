"""Migration 0007 builds exactly the QA tables the models describe, on SQLite and PostgreSQL,
and comes off again; a score keeps the scorecard version it was made with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.unit.qa.support import make_call
from tingyin.accounts.actions import create_user
from tingyin.bus.events import utcnow
from tingyin.qa.actions import card_of, scorecard_version, submit_evaluation
from tingyin.qa.scorecard import DEFAULT_SCORECARD, load_scorecard
from tingyin.store import Database
from tingyin.store.base import Base
from tingyin.store.database import alembic_config
from tingyin.store.models import QaEvaluation, QaScorecardVersion

QA_TABLES = {
    "qa_scorecard_versions", "qa_calibrations", "qa_evaluations", "qa_comments", "qa_appeals",
    "qa_review_items",
}  # fmt: skip


def _qa_diffs(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diffs if "qa_" in repr(d)]


@pytest.fixture
def store(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_the_migration_matches_the_models_and_comes_off(store: Database) -> None:
    assert set(inspect(store.engine).get_table_names()) >= QA_TABLES
    assert _qa_diffs(store) == []
    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert not QA_TABLES & set(inspect(store.engine).get_table_names())
    store.migrate()
    assert _qa_diffs(store) == []


def test_a_score_keeps_its_scorecard_version(store: Database, tmp_path: Path) -> None:
    db = store
    card = load_scorecard()
    with db.session() as session:
        boss = create_user(session, "boss", "long-enough-pass", "supervisor")
    make_call(db, "c-version")
    answers = {i.id: ("yes" if i.answer == "yes_no" else 5) for i in card.items()}
    answers["resolution"] = "resolved"
    with db.session() as session:
        first = submit_evaluation(session, card, "c-version", kind="post_call",
                                  evaluator=boss, answers=answers, now=utcnow())  # fmt: skip
    edited_path = tmp_path / "card.toml"
    text = DEFAULT_SCORECARD.read_text(encoding="utf-8").replace("version = 1", "version = 2")
    edited_path.write_text(text.replace("weight = 20", "weight = 40"), encoding="utf-8")
    edited = load_scorecard(edited_path)
    with db.session() as session:
        second = submit_evaluation(session, edited, "c-version", kind="post_call",
                                   evaluator=boss, answers=answers, now=utcnow())  # fmt: skip
    with db.session() as session:
        old, new = session.get(QaEvaluation, first.id), session.get(QaEvaluation, second.id)
        assert old is not None and new is not None
        assert old.scorecard_version_id != new.scorecard_version_id
        assert old.total > new.total  # 已解决 weighs more on v2
        version = session.get(QaScorecardVersion, old.scorecard_version_id)
        assert version is not None and version.version == 1
        assert card_of(version).resolution_item.weight == 20
        assert scorecard_version(session, card, utcnow()).id == version.id  # stored once
