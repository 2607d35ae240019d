"""Login, tokens, cookies, and the rule that every /api route but two needs a login."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import get_args

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tingyin.accounts.schemas import Role
from tingyin.audit.queries import recent_audit
from tingyin.bus.events import utcnow
from tingyin.store import Database
from tingyin.store.models import ROLES, User
from tingyin.web.auth import COOKIE_NAME, issue_token
from tingyin.web.deps import require_roles

from .conftest import PASSWORD, SECRET_KEY, Login

PUBLIC_API = {("POST", "/api/auth/token"), ("GET", "/api/health")}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves under /api, included routers flattened."""
    found = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if path.startswith("/api"):
            # A mount or a bare Starlette route here could not be enumerated: forbid them.
            assert isinstance(route.original_route, APIRoute), path
            found |= {(method, path) for method in route.methods or ()}
    return found


def test_login_returns_a_bearer_token_and_sets_a_strict_httponly_cookie(
    client: TestClient, db: Database
) -> None:
    response = client.post("/api/auth/token", data={"username": "u-qa", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert (body["role"], body["username"]) == ("qa", "u-qa")
    claims = jwt.decode(body["access_token"], SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 12 * 60 * 60  # settings.auth.token_minutes
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={body['access_token']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    with db.session() as session:
        (entry,) = recent_audit(session, action="auth.login")
        assert entry.username == "u-qa"


@pytest.mark.parametrize("username", ["u-qa", "nobody"])
def test_a_failed_login_is_401_and_audited_without_the_password(
    client: TestClient, db: Database, username: str
) -> None:
    response = client.post(
        "/api/auth/token", data={"username": username, "password": "wrong-Pa55word"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "set-cookie" not in response.headers
    with db.session() as session:
        (entry,) = recent_audit(session, action="auth.failed")
        assert entry.object_id == username
        assert "wrong-Pa55word" not in repr(entry.detail)


def test_login_form_without_fields_is_422(client: TestClient) -> None:
    assert client.post("/api/auth/token", data={"username": "u-qa"}).status_code == 422
    assert client.post("/api/auth/token", content=b"\xff\x00garbage").status_code == 422


def test_me_with_bearer_header_or_cookie(client: TestClient, login: Login) -> None:
    headers = login("supervisor")
    me = client.get("/api/auth/me", headers=headers).json()
    assert (me["username"], me["role"], me["display_name"]) == (
        "u-supervisor",
        "supervisor",
        "supervisor 张",
    )
    client.cookies.set(COOKIE_NAME, headers["Authorization"].removeprefix("Bearer "))
    assert client.get("/api/auth/me").json()["username"] == "u-supervisor"


def test_logout_clears_the_cookie(client: TestClient) -> None:
    client.post("/api/auth/token", data={"username": "u-agent", "password": PASSWORD})
    assert client.get("/api/auth/me").status_code == 200
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert f'{COOKIE_NAME}="";' in response.headers["set-cookie"]
    assert client.get("/api/auth/me").status_code == 401


def user_id(db: Database, username: str) -> int:
    with db.session() as session:
        user = session.query(User).filter_by(username=username).one()
        return user.id


@pytest.mark.parametrize("problem", ["expired", "wrong-key", "garbage", "unknown-user"])
def test_bad_tokens_are_401(client: TestClient, db: Database, problem: str) -> None:
    uid = user_id(db, "u-admin")
    token = {
        "expired": issue_token(SECRET_KEY, uid, "admin", 5, now=utcnow() - timedelta(hours=1)),
        "wrong-key": issue_token("another-key-0123456789abcdef-0123456789", uid, "admin", 5),
        "garbage": "not.a.token",
        "unknown-user": issue_token(SECRET_KEY, 9999, "admin", 5),
    }[problem]
    response = client.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_deactivated_user_is_locked_out_at_once(
    client: TestClient, db: Database, login: Login
) -> None:
    headers = login("agent")
    with db.session() as session:
        session.query(User).filter_by(username="u-agent").one().active = False
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    response = client.post("/api/auth/token", data={"username": "u-agent", "password": PASSWORD})
    assert response.status_code == 401


def test_the_role_comes_from_the_store_not_the_token(
    client: TestClient, db: Database, login: Login
) -> None:
    token = issue_token(SECRET_KEY, user_id(db, "u-agent"), "admin", 5)  # a forged role claim
    response = client.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def routes_open_without_login(client: TestClient, app: FastAPI) -> list[tuple[str, str, int]]:
    open_routes = []
    for method, path in sorted(api_routes(app) - PUBLIC_API):
        response = client.request(method, re.sub(r"\{[^}]+\}", "x", path), json={})
        if response.status_code != 401 or response.headers.get("www-authenticate") != "Bearer":
            open_routes.append((method, path, response.status_code))
    return open_routes


def test_every_api_route_but_the_public_ones_answers_401_without_a_login(
    client: TestClient, app: FastAPI
) -> None:
    routes = api_routes(app)
    assert routes >= PUBLIC_API
    assert len(routes - PUBLIC_API) >= 8, routes  # the check really sees the included routers
    assert routes_open_without_login(client, app) == []


def test_the_401_check_catches_a_route_added_without_login(
    client: TestClient, app: FastAPI
) -> None:
    app.add_api_route("/api/leak", lambda: {"secret": 1}, methods=["GET"])
    assert routes_open_without_login(client, app) == [("GET", "/api/leak", 200)]


def test_every_websocket_needs_a_login(client: TestClient, app: FastAPI) -> None:
    paths = [
        r.path or ""
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIWebSocketRoute)
    ]
    assert "/ws/events" in paths
    for path in paths:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
            pass
        assert refused.value.code == 4401, path


def test_admin_routes_are_403_for_the_other_roles(client: TestClient, login: Login) -> None:
    for role in ("agent", "supervisor", "qa"):
        headers = login(role)
        assert client.get("/api/users", headers=headers).status_code == 403
        assert client.get("/api/audit", headers=headers).status_code == 403
        body = {"username": "x-new", "password": "long-enough-1", "role": "agent"}
        assert client.post("/api/users", json=body, headers=headers).status_code == 403


def test_role_names_agree_everywhere() -> None:
    assert set(get_args(Role)) == set(ROLES)
    with pytest.raises(ValueError, match="unknown roles"):
        require_roles("admin", "superuser")
