"""The web app fixtures of tests/unit/web (a migrated SQLite copy with one user per role)."""

from tests.unit.web.conftest import (  # noqa: F401
    app,
    client,
    context,
    db,
    login,
    settings,
    template_db,
)
