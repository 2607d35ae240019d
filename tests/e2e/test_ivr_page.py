"""The IVR page (IVR 自助语音) in headless Chromium: a supervisor reads the figures of a period,
the nodes with their drop-outs, and one call's path; an agent is sent back to the desk.

The web app alone (``desk_app``); the calls' rows are written through ``telephony.actions`` as
the hub writes them, and their IVR rows as the IVR engine writes them (``call_events``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tests.unit.ivr.test_metrics import End, Step, add_ivr_rows
from tingyin.accounts.actions import create_user
from tingyin.bus.events import CallAnswered, CallEnded, CallRinging
from tingyin.telephony.actions import apply_call_event

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(120)

SUPERVISOR = "sup-ivr"

WELCOME: Step = (1, "welcome", "play", None)
# Minutes ago, node visits, end. Five calls of the last minutes and one of ten days ago.
CALLS: dict[str, tuple[int, list[Step], End]] = {
    "contained": (
        6,
        [WELCOME, (5, "main", "menu", "ok"), (11, "order_status", "lookup", "ok"),
         (20, "bye", "hangup", None)],
        (21, "contained", "bye"),
    ),
    "queued": (
        5,
        [WELCOME, (5, "main", "menu", "invalid"), (9, "main", "menu", "key:0"),
         (12, "to_agent", "queue", None)],
        (13, "queued", "to_agent"),
    ),
    "gave_up": (4, [WELCOME, (6, "main", "menu", "timeout")], (8, "abandoned", "main")),
    "gave_up_too": (
        3,
        [WELCOME, (6, "main", "menu", "timeout"), (12, "main", "menu", "timeout")],
        (14, "abandoned", "main"),
    ),
    "helped": (2, [WELCOME, (5, "main", "menu", "ok"), (9, "bye", "hangup", None)],
               (10, "contained", "bye")),
    "old": (10 * 24 * 60, [WELCOME], (4, "contained", "welcome")),
}  # fmt: skip


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def ivr_calls(desk_app: ServedApp) -> dict[str, str]:
    """The calls above stored in the app's database; their ids by name."""
    now = datetime.now(UTC)
    ids = {}
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
        for name, (minutes_ago, steps, end) in CALLS.items():
            call_id = ids[name] = uuid.uuid4().hex
            at = now - timedelta(minutes=minutes_ago)
            for event in (
                CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                            caller="13912345678", dialed="4008001234", at=at),
                CallAnswered(call_id=call_id, at=at),
                CallEnded(call_id=call_id, reason="hangup", at=at + timedelta(seconds=end[0])),
            ):  # fmt: skip
                apply_call_event(session, event)
            add_ivr_rows(session, call_id, at, steps, end)
    return ids


def figures(page: Page) -> tuple[str, ...]:
    return tuple(
        page.get_by_test_id(f"summary-{name}").inner_text()
        for name in ("entered", "containment", "queued", "abandoned")
    )


def test_a_supervisor_reads_the_ivr_figures_and_a_call_s_path(
    page: Page, desk_app: ServedApp, ivr_calls: dict[str, str]
) -> None:
    base = desk_app.base_url
    log_in(page, base, SUPERVISOR, PASSWORD, then="/tickets")
    page.locator("nav a[href='/ivr']").click()
    page.wait_for_url(f"{base}/ivr")
    expect(page.locator("h1")).to_have_text("IVR 自助语音")
    expect(page.get_by_test_id("period-today")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("range")).not_to_be_empty()

    # The last 7 days: the five recent calls (the old one is ten days ago).
    page.get_by_test_id("period-7d").click()
    expect(page.get_by_test_id("period-7d")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("summary-entered")).to_have_text("5")
    assert figures(page) == ("5", "40.0%", "1", "2")
    expect(page.get_by_test_id("summary-contained")).to_have_text("自助完成 2 通")
    # In the IVR: 20, 12, 7, 13 and 9 seconds.
    expect(page.get_by_test_id("summary-avg")).to_have_text("00:12")
    expect(page.get_by_test_id("summary-other")).to_have_text(
        "其中 IVR 异常 0 通 · 仍在 IVR 中 0 通"
    )
    assert page.url.endswith("/ivr?days=7")

    rows = page.get_by_test_id("node-rows").locator("tr")
    expect(rows).to_have_count(5)  # main, welcome, bye, order_status, to_agent
    expect(rows.first).to_have_attribute("data-node", "main")
    main = rows.first.locator("td")
    # node, type, visits, calls, drop-outs (bar, count, rate), timeouts, invalid
    assert [main.nth(i).inner_text() for i in (0, 1, 2, 3, 5, 6)] == [
        "main", "菜单", "7", "5", "3", "1",
    ]  # fmt: skip
    expect(rows.first.get_by_test_id("drop-outs")).to_have_text("2")
    expect(rows.first.locator(".iv-drop-rate")).to_have_text("40.0%")
    bar = rows.first.locator(".iv-bar-fill").evaluate("el => el.style.width")
    assert bar == "40%"
    welcome = page.locator("tr[data-node='welcome'] td")
    assert welcome.nth(2).inner_text() == "5" and welcome.nth(4).inner_text().startswith("0")

    # Thirty days take the old call too.
    page.get_by_test_id("period-30d").click()
    expect(page.get_by_test_id("summary-entered")).to_have_text("6")
    assert figures(page) == ("6", "50.0%", "1", "2")

    # One call's path.
    page.get_by_test_id("path-call").fill(ivr_calls["queued"])
    page.get_by_test_id("path-submit").click()
    steps = page.get_by_test_id("path-steps").locator("li")
    expect(steps).to_have_count(5)
    expect(page.get_by_test_id("path-outcome")).to_have_text("转人工")
    expect(steps.nth(0)).to_contain_text("+00:00")
    expect(steps.nth(1)).to_contain_text("main")
    expect(steps.nth(1)).to_contain_text("无效输入")
    expect(steps.nth(2)).to_contain_text("按键 0")  # the engine's "key:0"
    expect(steps.nth(3)).to_contain_text("to_agent")
    expect(steps.nth(4)).to_contain_text("+00:12")
    expect(page.get_by_test_id("path-meta")).to_contain_text("在 IVR 中 00:12")
    shot = screenshot(page, "ivr-metrics.png")
    assert shot.stat().st_size > 10_000

    # A call with no IVR rows, in English.
    page.locator("#lang-toggle").click()
    expect(page.locator("h1")).to_have_text("IVR self-service")
    expect(page.get_by_test_id("path-outcome")).to_have_text("To an agent")
    page.get_by_test_id("path-call").fill("0" * 32)
    page.get_by_test_id("path-submit").click()
    expect(page.get_by_test_id("path-error")).to_have_text("This call has no IVR record")
    expect(page.get_by_test_id("path")).to_be_hidden()
    assert "13912345678" not in page.locator("body").inner_text()


def test_agents_are_sent_to_their_desk(
    page: Page, desk_app: ServedApp, ivr_calls: dict[str, str]
) -> None:
    page.goto(f"{desk_app.base_url}/ivr")
    page.wait_for_url(f"{desk_app.base_url}/login")
    log_in(page, desk_app.base_url, AGENT, PASSWORD, then="")
    page.goto(f"{desk_app.base_url}/ivr")
    page.wait_for_url(f"{desk_app.base_url}/desk")
