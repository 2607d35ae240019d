"""The SQL store: SQLAlchemy base, models by domain, session factory, Alembic migrations."""

from tingyin.store.database import Database

__all__ = ["Database"]
