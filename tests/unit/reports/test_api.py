"""The reports API over the generated history: roles, figures as the queries give them, the
drill-downs, plots, word cloud, CSV and XLSX exports, and the /reports page."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.unit.reports.history import NOW, STORES, TZ, plan, write
from tests.unit.reports.test_history import settle
from tests.unit.web.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    Login,
    app,
    client,
    context,
    login,
    settings,
    template_db,
)
from tingyin.config import Settings
from tingyin.reports import queries
from tingyin.reports.figures import call_figures
from tingyin.store import Database

SINCE = NOW - timedelta(days=15)
PERIOD = {"since": SINCE.isoformat(), "until": NOW.isoformat()}


@pytest.fixture(scope="module")
def history_db(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The web tests' template (one user per role) plus the generated history: built once."""
    path = tmp_path_factory.mktemp("reports-api") / "tingyin.db"
    shutil.copyfile(template_db, path)
    database = Database(f"sqlite:///{path}")
    settle(database, write(database, plan()))
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def db(settings: Settings, history_db: Path) -> Iterator[Database]:  # noqa: F811
    url = settings.resolved_database_url
    shutil.copyfile(history_db, url.removeprefix("sqlite:///"))
    database = Database(url)
    yield database
    database.dispose()


def test_agents_may_not_read_reports(client: TestClient, login: Login) -> None:  # noqa: F811
    agent = login("agent")
    for path in (
        "/api/reports/dashboard",
        "/api/reports/complaints",
        "/api/reports/keywords",
        "/api/reports/staffing",
        "/api/reports/plots/calls.svg",
        "/api/reports/export/daily.csv",
        "/api/reports/wordcloud.png",
    ):
        assert client.get(path, headers=agent).status_code == 403, path
        assert client.get(path).status_code == 401, path


def test_the_dashboard(client: TestClient, login: Login, db: Database) -> None:  # noqa: F811
    r = client.get("/api/reports/dashboard", params=PERIOD, headers=login("supervisor"))
    assert r.status_code == 200, r.text
    body = r.json()
    with db.session() as session:
        totals = queries.call_totals(session, SINCE, NOW)
    want = call_figures(totals, 20)
    assert body["calls"]["offered"] == want.offered
    assert body["calls"]["service_level"] == pytest.approx(want.service_level)
    assert body["calls"]["fcr"] == pytest.approx(want.fcr)
    assert set(body["queues"]) == {"", "customer", "rider"}
    assert sum(d["figures"]["calls"] for d in body["days"]) == want.calls
    assert body["tickets"]["recurrence"]["alert"] is True  # the repeat stories: well over 5 %
    assert "recurrence" in body["alerts"]
    assert body["as_of"] is not None
    bad = client.get("/api/reports/dashboard", params=PERIOD | {"days": 3}, headers=login("qa"))
    assert bad.status_code == 422


def test_complaints_and_their_tickets(client: TestClient, login: Login) -> None:  # noqa: F811
    headers = login("admin")
    body = client.get(
        "/api/reports/complaints", params=PERIOD | {"dimension": "store"}, headers=headers
    ).json()
    assert {s["label"] for s in body["shares"]} <= set(STORES)
    assert sum(s["tickets"] for s in body["shares"]) == body["total"]
    assert sum(map(sum, body["heatmap"])) == body["total"]
    top = body["shares"][0]
    rows = client.get(
        "/api/reports/complaints/tickets", params=PERIOD | {"store": top["key"]}, headers=headers
    ).json()
    assert len(rows) == top["tickets"] and all(r["call_ids"] for r in rows)
    evening = client.get(
        "/api/reports/complaints/tickets", params=PERIOD | {"weekday": 9}, headers=headers
    )
    assert evening.status_code == 422


def test_keywords_and_the_calls_behind_a_term(client: TestClient, login: Login) -> None:  # noqa: F811
    headers = login("qa")
    last = NOW.astimezone(TZ).date()  # today so far
    week = {"since": (NOW - timedelta(days=7)).isoformat(), "until": NOW.isoformat()}
    body = client.get("/api/reports/keywords", params=week, headers=headers).json()
    assert body["last"] == last.isoformat()
    assert body["top"][0]["term"] in ("奶茶", "洒了", "退款", "袋子", "全湿")
    assert "奶茶" in {r["term"] for r in body["rising"]}
    calls = client.get(
        "/api/reports/keywords/calls", params=week | {"term": "奶茶"}, headers=headers
    ).json()
    assert calls and all("奶茶" in c["text"] for c in calls)
    png = client.get("/api/reports/wordcloud.png", params=week, headers=headers)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_plots_are_svg(client: TestClient, login: Login) -> None:  # noqa: F811
    headers = login("supervisor")
    for name in ("calls", "service_level", "complaints_trend", "complaints_by",
                 "complaints_hours", "staffing"):  # fmt: skip
        r = client.get(f"/api/reports/plots/{name}.svg", params=PERIOD, headers=headers)
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in r.text and 'href="http' not in r.text  # nothing fetched from outside
    assert client.get("/api/reports/plots/nope.svg", headers=headers).status_code == 422


def test_every_table_exports_to_csv_and_xlsx(client: TestClient, login: Login) -> None:  # noqa: F811
    from tingyin.reports.files_api import TABLES

    headers = login("supervisor")
    for name in TABLES:
        r = client.get(f"/api/reports/export/{name}.csv", params=PERIOD, headers=headers)
        assert r.status_code == 200, (name, r.text)
        assert r.content.startswith("\ufeff".encode())
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        x = client.get(f"/api/reports/export/{name}.xlsx", params=PERIOD, headers=headers)
        sheet = load_workbook(io.BytesIO(x.content)).active
        assert sheet is not None
        values = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        assert len(values) == len(rows) and values[0] == rows[0], name
    daily = client.get("/api/reports/export/daily.csv", params=PERIOD, headers=headers)
    lines = list(csv.reader(io.StringIO(daily.content.decode("utf-8-sig"))))
    assert lines[0][0] == "日期 (day)" and len(lines) == 1 + 14


def test_staffing(client: TestClient, login: Login) -> None:  # noqa: F811
    body = client.get("/api/reports/staffing", params={"days": 2}, headers=login("admin")).json()
    assert len(body["slots"]) == 96
    assert body["peak_rostered"] >= body["peak_agents"]


def test_the_page_is_for_report_roles(client: TestClient) -> None:  # noqa: F811
    assert client.get("/reports", follow_redirects=False).headers["location"] == "/login"

    def log_in(role: str) -> None:
        client.cookies.clear()
        r = client.post("/api/auth/token", data={"username": f"u-{role}", "password": PASSWORD})
        assert r.status_code == 200

    log_in("agent")
    assert client.get("/reports", follow_redirects=False).headers["location"] == "/desk"
    log_in("supervisor")
    for path in ("/reports", "/reports/complaints", "/reports/keywords", "/reports/staffing"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 200 and 'src="/static/reports.js"' in page.text
    assert client.get("/reports/nope", follow_redirects=False).status_code == 303
    for name in ("reports.js", "reports.css", "reports.html"):
        text = client.get(f"/static/{name}").text
        assert "http://" not in text and "https://" not in text
