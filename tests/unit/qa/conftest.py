"""The web app fixtures (app, client, login, a migrated store with one user per role) for the
QA API tests, shared with tests/unit/web."""

from tests.unit.web.conftest import (  # noqa: F401
    app,
    client,
    context,
    db,
    login,
    settings,
    template_db,
)
