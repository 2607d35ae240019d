"""User administration and the audit log (admin only), and bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tingyin.audit.queries import recent_audit
from tingyin.store import Database

from .conftest import Login


def test_admin_lists_and_creates_users_who_can_then_log_in(
    client: TestClient, db: Database, login: Login
) -> None:
    headers = login("admin")
    names = [u["username"] for u in client.get("/api/users", headers=headers).json()]
    assert names == ["u-admin", "u-agent", "u-qa", "u-supervisor"]
    body = {"username": "li", "password": "li-password-9", "role": "qa", "display_name": "李"}
    response = client.post("/api/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["username"], created["role"], created["display_name"]) == ("li", "qa", "李")
    assert "password" not in response.text and "li-password-9" not in response.text
    login_response = client.post(
        "/api/auth/token", data={"username": "li", "password": "li-password-9"}
    )
    assert login_response.status_code == 200
    with db.session() as session:
        (entry,) = recent_audit(session, action="user.create")[:1]
        assert (entry.username, entry.detail) == ("u-admin", {"username": "li", "role": "qa"})


def test_a_taken_name_is_409(client: TestClient, login: Login) -> None:
    body = {"username": "u-qa", "password": "long-enough-1", "role": "qa"}
    response = client.post("/api/users", json=body, headers=login("admin"))
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (b'"a string"', "body"),
        (b'{"username": "x"}', "password"),
        (b'{"username": "x", "password": 12345678, "role": "qa"}', "password"),
        (b'{"username": "x", "password": "long-enough-1", "role": "root"}', "role"),
        (b'{"username": "", "password": "long-enough-1", "role": "qa"}', "username"),
        (b'{"username": "x\\u0000", "password": "long-enough-1", "role": "qa"}', "username"),
        (b'{"username": "x", "password": "long-enough-1", "role": "qa", "admin": true}', "admin"),
    ],
)
def test_garbage_bodies_are_422_with_where_and_why(
    client: TestClient, login: Login, body: bytes, where: str
) -> None:
    headers = {**login("admin"), "Content-Type": "application/json"}
    response = client.post("/api/users", content=body, headers=headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(where in err["loc"] for err in detail), detail
    assert all(set(err) == {"loc", "msg", "type"} for err in detail)  # no echo of the input
    assert "long-enough-1" not in response.text


def test_a_rule_of_the_accounts_module_is_422_with_its_message(
    client: TestClient, login: Login
) -> None:
    body = {"username": "x", "password": "short", "role": "qa"}
    response = client.post("/api/users", json=body, headers=login("admin"))
    assert response.status_code == 422
    assert "at least 8 characters" in response.json()["detail"]


def test_the_audit_log_is_for_admins(client: TestClient, login: Login) -> None:
    admin = login("admin")
    entries = client.get("/api/audit", headers=admin).json()
    assert entries[0]["action"] == "auth.login" and entries[0]["username"] == "u-admin"
    assert {e["action"] for e in entries} == {"auth.login", "user.create"}
    only = client.get("/api/audit", params={"action": "user.create", "limit": 2}, headers=admin)
    assert [e["action"] for e in only.json()] == ["user.create", "user.create"]
    assert client.get("/api/audit", params={"limit": 501}, headers=admin).status_code == 422
    assert client.get("/api/audit", headers=login("qa")).status_code == 403
