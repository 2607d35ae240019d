"""The agent's state control on the desk (就绪 / 示忙 / 离线) in headless Chromium.

The web app alone: the agent changes their own state through the page; the system's moves (the
ACD ringing them, connecting a call) arrive as ``AgentStateChanged`` events the test publishes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tingyin.accounts.queries import user_by_name
from tingyin.bus.events import AgentStateChanged
from tingyin.store.models import AgentProfile

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(120)

NOT_READY = "rgb(194, 65, 12)"  # desk.css .state-chip[data-state="not_ready"]
ON_CALL = "rgb(29, 78, 216)"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def agent_id(desk_app: ServedApp) -> int:
    with desk_app.db.session() as session:
        user = user_by_name(session, AGENT)
        assert user is not None
        return user.id


def stored(desk_app: ServedApp, user_id: int) -> tuple[str, str]:
    with desk_app.db.session() as session:
        profile = session.get(AgentProfile, user_id)
        assert profile is not None
        return profile.state, profile.state_reason


def system_says(desk_app: ServedApp, user_id: int, state: str, **fields: Any) -> None:
    desk_app.bus.publish(
        AgentStateChanged(user_id=user_id, username=AGENT, display_name="王小听", state=state,
                          since=datetime.now(UTC), **fields)
    )  # fmt: skip


def test_an_agent_goes_ready_then_on_a_break_and_follows_the_system(
    page: Page, desk_app: ServedApp
) -> None:
    uid = agent_id(desk_app)
    log_in(page, desk_app.base_url, AGENT, PASSWORD)
    expect(page.locator("#live")).to_have_attribute("data-state", "open")
    chip, label = page.get_by_test_id("state-chip"), page.get_by_test_id("state-label")
    timer = page.get_by_test_id("state-timer")
    ready, busy = page.get_by_test_id("state-ready"), page.get_by_test_id("state-busy")
    offline = page.get_by_test_id("state-offline")

    # First time: offline, and nothing stored yet.
    expect(chip).to_have_attribute("data-state", "offline")
    expect(label).to_have_text("离线")
    expect(offline).to_be_disabled()

    ready.click()
    expect(chip).to_have_attribute("data-state", "ready")
    expect(label).to_have_text("就绪")
    expect(ready).to_be_disabled()
    assert stored(desk_app, uid) == ("ready", "")

    # 示忙 with a reason from the configured list.
    busy.click()
    menu = page.get_by_test_id("busy-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitemradio")).to_have_text(["小休", "用餐", "培训", "会议", "整理"])
    menu.get_by_role("menuitemradio", name="小休").click()
    expect(menu).to_be_hidden()
    expect(chip).to_have_attribute("data-state", "not_ready")
    expect(chip).to_have_attribute("data-reason", "break")
    expect(label).to_have_text("小休")
    expect(chip).to_have_css("color", NOT_READY)
    expect(timer).to_have_text(re.compile(r"^00:0[0-9]$"))
    expect(timer).not_to_have_text("00:00", timeout=5000)  # it runs
    assert stored(desk_app, uid) == ("not_ready", "break")
    expect(ready).to_be_enabled()
    shot = screenshot(page, "desk-agent-state.png")
    assert shot.stat().st_size > 10_000

    # The system connects a call: the chip follows, and the agent cannot leave it.
    system_says(desk_app, uid, "on_call", call_id="e2e-agent-1")
    expect(chip).to_have_attribute("data-state", "on_call")
    expect(label).to_have_text("通话中")
    expect(chip).to_have_css("color", ON_CALL)
    expect(timer).to_have_text(re.compile(r"^00:0[0-2]$"))
    for button in (ready, busy, offline):
        expect(button).to_be_disabled()
    # Another agent's state is not this agent's.
    system_says(desk_app, uid + 1000, "ready")
    system_says(desk_app, uid, "wrap_up", call_id="e2e-agent-1")
    expect(label).to_have_text("整理")
    expect(chip).to_have_attribute("data-state", "wrap_up")
    expect(ready).to_be_enabled()

    # A reload shows the stored state (the events above were the test's, not the store's).
    page.reload()
    expect(chip).to_have_attribute("data-state", "not_ready")
    expect(label).to_have_text("小休")
    page.locator("#lang-toggle").click()
    expect(label).to_have_text("Break")
    expect(ready).to_have_text("Ready")
    offline.click()
    expect(label).to_have_text("Offline")
    assert stored(desk_app, uid) == ("offline", "")


def test_the_call_the_acd_rings_me_for_takes_my_screen(page: Page, desk_app: ServedApp) -> None:
    from tests.e2e.test_desk import wait_live
    from tingyin.bus.events import AgentLeg, CallRinging

    uid = agent_id(desk_app)
    log_in(page, desk_app.base_url, AGENT, PASSWORD)
    expect(page.locator("#user-name")).to_have_text("王小听")
    wait_live(page)
    for call_id, caller in (("mine-1", "13811112222"), ("other-1", "13933334444")):
        desk_app.bus.publish(CallRinging(call_id=call_id, sip_call_id=call_id, worker=0,
                                         caller=caller, dialed="4008001234"))  # fmt: skip
    expect(page.get_by_test_id("caller-number")).to_have_text("139****4444")  # the newest
    desk_app.bus.publish(AgentLeg(call_id="mine-1", leg_id="l" * 32, state="ringing",
                                  agent_id=uid))  # fmt: skip
    expect(page.get_by_test_id("caller-number")).to_have_text("138****2222")
    expect(page.get_by_test_id("caller-flags")).to_contain_text("分配给您")
    desk_app.bus.publish(AgentLeg(call_id="mine-1", leg_id="l" * 32, state="failed",
                                  agent_id=uid, reason="no-answer"))  # fmt: skip
    expect(page.get_by_test_id("caller-flags")).not_to_contain_text("分配给您")
