"""The IVR figures and call paths through the API, and the /ivr page: roles, windows, shapes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.unit.ivr.test_metrics import Step, add_ivr_rows
from tests.unit.web.conftest import PASSWORD, Login
from tests.unit.web.support import make_call
from tingyin.store import Database
from tingyin.store.models import Call

METRICS = "/api/ivr/metrics"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def ivr_call(
    db: Database,
    call_id: str,
    steps: list[Step],
    end: tuple[float, str, str] | None,
    *,
    minutes_ago: int = 5,
) -> datetime:
    """A call as the workers report it, then its IVR rows; returns when it started."""
    make_call(db, call_id, minutes_ago=minutes_ago)
    with db.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        add_ivr_rows(session, call_id, call.started_at, steps, end)
        return call.started_at


@pytest.fixture
def calls(db: Database) -> dict[str, datetime]:
    return {
        "c0000001": ivr_call(
            db,
            "c0000001",
            [(1, "welcome", "play", None), (5, "main", "menu", "ok"), (9, "bye", "hangup", None)],
            (10, "contained", "bye"),
            minutes_ago=5,
        ),
        "c0000002": ivr_call(
            db,
            "c0000002",
            [(1, "welcome", "play", None), (6, "main", "menu", "timeout")],
            (12, "abandoned", "main"),
            minutes_ago=4,
        ),
        "c0000003": ivr_call(
            db,
            "c0000003",
            [
                (1, "welcome", "play", None),
                (4, "main", "menu", "invalid"),
                (8, "to_agent", "queue", None),
            ],
            (9, "queued", "to_agent"),
            minutes_ago=3,
        ),
    }


@pytest.mark.parametrize("role", ["supervisor", "qa", "admin"])
def test_the_figures_of_the_last_24_hours(
    client: TestClient, login: Login, db: Database, calls: dict[str, datetime], role: str
) -> None:
    make_call(db, "d0000009")  # straight to an agent: not in the figures
    make_call(db, "d0000010", minutes_ago=24 * 60 + 1)  # too old
    ivr_call(db, "d0000011", [(1, "old", "play", None)], None, minutes_ago=24 * 60 + 1)
    response = client.get(METRICS, headers=login(role))
    assert response.status_code == 200, response.text
    body = response.json()
    since, until = (datetime.fromisoformat(body[k]) for k in ("since", "until"))
    assert until - since == timedelta(hours=24)
    assert abs(until - datetime.now(UTC)) < timedelta(minutes=1)
    assert body["timezone"] == "Asia/Shanghai"
    # Seconds in the IVR: 9, 11 and 8.
    assert body["summary"] == {
        "entered": 3,
        "contained": 1,
        "queued": 1,
        "abandoned": 1,
        "error": 0,
        "in_progress": 0,
        "containment_rate": pytest.approx(1 / 3),
        "avg_seconds": pytest.approx(28 / 3),
    }
    assert [n["node"] for n in body["nodes"]] == ["main", "welcome", "bye", "to_agent"]
    assert body["nodes"][0] == {
        "node": "main",
        "type": "menu",
        "visits": 3,
        "calls": 3,
        "drop_outs": 1,
        "drop_out_rate": pytest.approx(1 / 3),
        "timeouts": 1,
        "invalid": 1,
    }


def test_windows_by_dates_and_by_days(
    client: TestClient, login: Login, calls: dict[str, datetime]
) -> None:
    headers = login("supervisor")
    first = min(calls.values())
    params = {
        "since": (first + timedelta(seconds=30)).isoformat(),
        "until": (first + timedelta(hours=1)).isoformat(),
    }
    body = client.get(METRICS, params=params, headers=headers).json()
    assert body["summary"]["entered"] == 2  # the first call started before `since`
    old = {"since": "2020-01-01T00:00:00+08:00", "until": "2020-01-02T00:00:00+08:00"}
    body = client.get(METRICS, params=old, headers=headers).json()
    assert body["summary"]["entered"] == 0 and body["summary"]["avg_seconds"] is None
    assert body["nodes"] == []
    assert body["since"].startswith("2019-12-31T16:00:00")  # given in UTC

    for days in (1, 7, 30):
        body = client.get(METRICS, params={"days": days}, headers=headers).json()
        since, until = (datetime.fromisoformat(body[k]) for k in ("since", "until"))
        assert since.astimezone(SHANGHAI).time() == time(0, 0)  # midnight, site time
        assert timedelta(days=days - 1) <= until - since <= timedelta(days=days)
        if days > 1:  # calls of 5 minutes ago may be yesterday's just after midnight
            assert body["summary"]["entered"] == 3


def test_only_supervisors_qa_and_admins(
    client: TestClient, login: Login, calls: dict[str, datetime]
) -> None:
    agent = login("agent")
    assert client.get(METRICS, headers=agent).status_code == 403
    assert client.get("/api/ivr/calls/c0000001/path", headers=agent).status_code == 403
    assert client.get(METRICS).status_code == 401
    assert client.get("/api/ivr/calls/c0000001/path").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2025-06-18T10:00:00+08:00", "until": "2025-06-18T10:00:00+08:00"},
        {"since": "2025-06-18T10:00:00+08:00", "until": "2025-06-18T09:00:00+08:00"},
        {"since": "2024-01-01T00:00:00Z", "until": "2025-01-02T00:00:01Z"},  # 367 days
        {"since": "2025-06-18T10:00:00"},  # no zone
        {"until": "yesterday"},
        {"since": "2999-01-01T00:00:00Z"},  # after now, the default `until`
        {"days": "0"},
        {"days": "367"},
        {"days": "7", "since": "2025-06-18T10:00:00Z"},
    ],
)
def test_bad_windows_are_422(client: TestClient, login: Login, params: dict[str, str]) -> None:
    response = client.get(METRICS, params=params, headers=login("qa"))
    assert response.status_code == 422, response.text


def test_a_window_of_366_days_is_allowed(client: TestClient, login: Login) -> None:
    params = {"since": "2024-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}  # leap year
    assert client.get(METRICS, params=params, headers=login("admin")).status_code == 200


def test_the_path_of_one_call(
    client: TestClient, login: Login, calls: dict[str, datetime], db: Database
) -> None:
    headers = login("qa")
    response = client.get("/api/ivr/calls/c0000002/path", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["call_id"], body["outcome"], body["seconds"]) == ("c0000002", "abandoned", 11.0)
    assert [
        (s["node"], s["type"], s["result"], s["offset_seconds"], s["outcome"])
        for s in body["steps"]
    ] == [
        ("welcome", "play", None, 0.0, None),
        ("main", "menu", "timeout", 5.0, None),
        ("main", "end", None, 11.0, "abandoned"),
    ]
    first = datetime.fromisoformat(body["steps"][0]["at"])
    assert first == calls["c0000002"] + timedelta(seconds=1)

    make_call(db, "e0000005")  # a call that never entered the IVR
    for unknown in ("e0000005", "no-such-call"):
        response = client.get(f"/api/ivr/calls/{unknown}/path", headers=headers)
        assert response.status_code == 404
        assert response.json()["detail"] == "no IVR path for this call"


def test_a_call_still_in_the_ivr(client: TestClient, login: Login, db: Database) -> None:
    ivr_call(db, "f0000006", [(1, "welcome", "play", None)], None)
    body = client.get("/api/ivr/calls/f0000006/path", headers=login("admin")).json()
    assert (body["outcome"], body["seconds"], len(body["steps"])) == (None, None, 1)
    summary = client.get(METRICS, headers=login("admin")).json()["summary"]
    assert (summary["entered"], summary["in_progress"], summary["avg_seconds"]) == (1, 1, None)


def test_the_page_is_for_the_same_roles(client: TestClient) -> None:
    response = client.get("/ivr?lang=en", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?lang=en")

    def log_in(role: str) -> None:
        client.cookies.clear()
        r = client.post("/api/auth/token", data={"username": f"u-{role}", "password": PASSWORD})
        assert r.status_code == 200

    log_in("agent")
    response = client.get("/ivr", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/desk")
    for role in ("supervisor", "qa", "admin"):
        log_in(role)
        page = client.get("/ivr", follow_redirects=False)
        assert page.status_code == 200
        assert 'src="/static/ivr.js"' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("name", ["ivr.js", "ivr.css", "ivr.html"])
def test_the_page_files_are_local(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text  # no CDN


@pytest.mark.parametrize("page", ["calls.html", "desk.html", "tickets.html", "ivr.html"])
def test_every_header_links_the_ivr_page(client: TestClient, page: str) -> None:
    assert 'href="/ivr"' in client.get(f"/static/{page}").text
