"""Agent performance (坐席绩效) on the QA page in headless Chromium: a supervisor opens the tab,
sees each agent's KPIs and weighted score and the team total, opens an agent's trend plot
(SVG from the API), finds the CSV link, and switches to English.

The web app alone (``desk_app``); the calls are written through the CDR actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tests.unit.qa.support import make_call
from tingyin.accounts.actions import create_user
from tingyin.store.models import User

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(120)

SUPERVISOR = "sup-perf"
OTHER = "agent-two"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def planted(desk_app: ServedApp) -> dict[str, int]:
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
        create_user(session, OTHER, PASSWORD, "agent", display_name="李二")
        ids = {name: uid for name, uid in session.execute(select(User.username, User.id))}
    make_call(desk_app.db, "perf-1", agent_id=ids[AGENT], seconds=30)  # talks 28 s
    make_call(desk_app.db, "perf-2", agent_id=ids[AGENT], seconds=50)  # talks 48 s
    make_call(desk_app.db, "perf-3", agent_id=ids[OTHER], seconds=40)
    return ids


def test_a_supervisor_sees_agent_performance(
    page: Page, desk_app: ServedApp, planted: dict[str, int]
) -> None:
    base = desk_app.base_url
    log_in(page, base, SUPERVISOR, PASSWORD, then="/qa")
    page.get_by_test_id("tab-performance").click()
    expect(page.locator("#performance")).to_be_visible()
    expect(page.locator(".qa-layout")).to_be_hidden()
    mine = page.get_by_test_id(f"agent-{AGENT}")
    expect(mine).to_contain_text("王小听")
    cells = mine.locator("td")
    expect(cells.nth(2)).to_have_text("2")  # handled
    expect(cells.nth(3)).to_have_text("38 s")  # AHT (28 + 48) / 2
    expect(cells.nth(6)).to_have_text("100.0%")  # answered at once
    expect(page.get_by_test_id(f"agent-{OTHER}").locator("td").nth(2)).to_have_text("1")
    expect(page.get_by_test_id("team--")).to_contain_text("组合计 · 未分组（2 人）")
    expect(page.get_by_test_id("team--").locator("td").nth(2)).to_have_text("3")
    expect(page.get_by_test_id("perf-weights")).to_contain_text("满意度 40%")
    href = page.get_by_test_id("perf-csv").get_attribute("href")
    assert href == "/api/qa/performance.csv?days=7"
    csv = page.request.get(f"{base}{href}")
    assert csv.ok and "王小听" in csv.text()

    mine.get_by_role("button", name="王小听").click()
    plot = page.get_by_test_id("perf-plot")
    expect(plot).to_be_visible()
    expect(plot).to_have_attribute(
        "src", f"/api/qa/performance/{planted[AGENT]}/trend.svg?days=7&lang=zh"
    )
    page.wait_for_function("document.getElementById('perf-plot').naturalWidth > 0")
    screenshot(page, "qa-performance.png")

    page.locator("#lang-toggle").click()
    expect(page.locator("#perf-title")).to_have_text("Agent performance")
    expect(page.locator("#perf-columns th").nth(3)).to_have_text("AHT")
    expect(plot).to_have_attribute(
        "src", f"/api/qa/performance/{planted[AGENT]}/trend.svg?days=7&lang=en"
    )
    page.get_by_test_id("perf-days").select_option("30")
    expect(page.get_by_test_id("perf-csv")).to_have_attribute(
        "href", "/api/qa/performance.csv?days=30"
    )
    page.locator("#tab-review").click()
    expect(page.locator(".qa-layout")).to_be_visible()
    expect(page.locator("#performance")).to_be_hidden()
