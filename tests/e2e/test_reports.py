"""The reports page (报表) in headless Chromium over two weeks of generated history ending now:
a supervisor reads the dashboard, the complaint page with a drill-down to the tickets, the
keywords with the calls behind a term, and the staffing forecast; screenshots of each are kept.
An agent is sent back to the desk.

The web app alone (``desk_app``); the history is written the way the hub writes it
(tests/unit/reports/history.py) and folded into the pre-aggregates as the hub's report service
does (``settle``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tests.unit.reports.history import STORES, TZ, History, plan, write
from tests.unit.reports.test_history import settle
from tingyin.accounts.actions import create_user

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(180)

SUPERVISOR = "sup-reports"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def history(desk_app: ServedApp) -> History:
    now = datetime.now(UTC)
    h = plan(now=now)
    policy = write(desk_app.db, h)
    settle(desk_app.db, policy, now)
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
    return h


def test_a_supervisor_reads_the_reports(page: Page, desk_app: ServedApp, history: History) -> None:
    base = desk_app.base_url
    log_in(page, base, SUPERVISOR, PASSWORD, then="/reports?days=30")
    expect(page.locator("body")).to_have_attribute("data-loaded", "dashboard")
    expect(page.get_by_test_id("period-30")).to_have_attribute("aria-pressed", "true")
    offered = sum(c.ivr == "queued" for c in history.calls)
    first = page.get_by_test_id("figure-0")
    expect(first.locator(".rp-value")).to_have_text(str(offered))
    expect(page.get_by_test_id("alerts")).to_contain_text("重复投诉率超过")
    for plot in ("plot-calls", "plot-sl"):
        page.wait_for_function(
            "id => document.querySelector(`[data-testid=${id}]`).naturalWidth > 0", arg=plot
        )
    rows = page.locator("#days tbody tr")
    expect(rows).to_have_count(len({c.started.astimezone(TZ).date() for c in history.calls}))
    assert page.locator("[data-testid=export-daily-xlsx]").get_attribute("href", timeout=1000)
    assert screenshot(page, "reports-dashboard.png").stat().st_size > 20_000

    # Complaints by store; the biggest store's tickets, each with its calls.
    page.get_by_test_id("tabs").get_by_text("投诉分析").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "complaints")
    assert page.url.endswith("/reports/complaints?days=30")
    page.get_by_test_id("dimension").select_option("store")
    shares = page.locator("#shares tbody tr")
    expect(shares.first.locator("td").first).to_have_text(re.compile("|".join(STORES)))
    top_count = int(shares.first.locator("td").nth(1).inner_text())
    shares.first.click()
    expect(page.get_by_test_id("drill")).to_be_visible()
    expect(page.locator("#drill-rows tbody tr")).to_have_count(top_count)
    for plot in ("plot-by", "plot-trend", "plot-hours"):
        page.wait_for_function(
            "id => document.querySelector(`[data-testid=${id}]`).naturalWidth > 0", arg=plot
        )
    assert screenshot(page, "reports-complaints.png").stat().st_size > 20_000

    # Keywords: the planted words of the last week; the calls behind one.
    page.get_by_test_id("tabs").get_by_text("客户热词").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "keywords")
    page.get_by_test_id("period-7").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "keywords")
    term = page.locator("#top-terms button[data-term='奶茶']")
    expect(term).to_be_visible()
    term.click()
    quotes = page.locator("#term-rows li")
    expect(quotes.first).to_contain_text("奶茶")
    page.wait_for_function("() => document.getElementById('wordcloud').naturalWidth > 0")
    assert screenshot(page, "reports-keywords.png").stat().st_size > 20_000

    # Staffing, in English.
    page.get_by_test_id("tabs").get_by_text("排班预测").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "staffing")
    page.locator("#lang-toggle").click()
    expect(page.get_by_test_id("tabs").locator("a.active")).to_have_text("Staffing")
    expect(page.locator("body")).to_have_attribute("data-loaded", "staffing")
    expect(page.locator("#staffing tbody tr").first).to_be_visible()
    assert screenshot(page, "reports-staffing.png").stat().st_size > 10_000
    assert "13812345678" not in page.locator("body").inner_text()


def test_agents_are_sent_to_their_desk(page: Page, desk_app: ServedApp, history: History) -> None:
    log_in(page, desk_app.base_url, AGENT, PASSWORD, then="")
    page.goto(f"{desk_app.base_url}/reports/complaints")
    page.wait_for_url(f"{desk_app.base_url}/desk")
    assert datetime.now(UTC) - history.now < timedelta(hours=1)
