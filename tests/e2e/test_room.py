"""The listening room (听音室) in headless Chromium: the wallboard with a live call, its
transcript line and the alert the real rules engine fires on it, then the call's side panel.

The web app alone (no telephony): the test publishes the call's events on the app's bus, as the
workers, the ACD and the ASR would; ``ListeningService`` with the packaged rules listens on the
same bus and publishes the ``CallAlert`` (the agent says 不知道, a forbidden phrase). Queue figures
come from call events stored through ``telephony.actions``, as the hub's CDR writer would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tests.e2e.test_desk import food_safety_context
from tingyin.accounts.actions import create_user
from tingyin.accounts.queries import user_by_name
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallQueued,
    CallRinging,
    QueueLeft,
    TranscriptFinal,
)
from tingyin.listening.rules import load_alert_rules
from tingyin.listening.service import ListeningService
from tingyin.telephony.actions import apply_call_event

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(120)

SUPERVISOR = "sup-e2e"
CALL = "room-call-1"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def room_app(desk_app: ServedApp) -> ServedApp:
    """The desk app with a supervisor, today's queue history, and the alert rules on its bus."""
    now = datetime.now(UTC)
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
        earlier: list[CallEvent] = [
            CallRinging(call_id="room-old", at=now - timedelta(minutes=5), sip_call_id="x",
                        worker=0, caller="13812345678", dialed="400"),
            CallQueued(call_id="room-old", queue="customer", at=now - timedelta(minutes=5)),
            QueueLeft(call_id="room-old", queue="customer", outcome="answered",
                      waited_seconds=8, at=now - timedelta(minutes=1)),
            CallEnded(call_id="room-old", reason="caller", at=now - timedelta(seconds=30)),
        ]  # fmt: skip
        for event in earlier:
            apply_call_event(session, event)
    # Subscribes now; its timers start with the first event it sees.
    ListeningService(desk_app.bus, load_alert_rules(), desk_app.db)
    return desk_app


def test_the_wallboard_shows_a_live_call_its_words_and_an_alert(
    page: Page, room_app: ServedApp
) -> None:
    with room_app.db.session() as session:
        agent = user_by_name(session, AGENT)
        assert agent is not None
        agent_id = agent.id
    log_in(page, room_app.base_url, SUPERVISOR, PASSWORD, then="/room")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "open")
    tile = page.get_by_test_id(f"tile-{AGENT}")
    expect(tile).to_contain_text("王小听")
    expect(tile.locator(".rm-avatar")).to_have_text("小听")
    expect(page.get_by_test_id("q-answered")).to_have_text("1")
    expect(page.get_by_test_id("q-sl")).to_have_text("100%")
    expect(page.get_by_test_id("alerts")).to_be_empty()
    expect(page.get_by_test_id("alerts-empty")).to_be_visible()

    now = datetime.now(UTC)
    bus = room_app.bus
    for event in (
        CallRinging(call_id=CALL, sip_call_id="s1", worker=0, caller="13812345678", dialed="400",
                    at=now - timedelta(seconds=40)),
        CallAnswered(call_id=CALL, at=now - timedelta(seconds=39)),
        food_safety_context(CALL, now),
        AgentStateChanged(user_id=agent_id, username=AGENT, display_name="王小听",
                          state="on_call", since=now - timedelta(seconds=30), call_id=CALL),
        AgentLeg(call_id=CALL, leg_id="leg-1", state="answered", agent_id=agent_id,
                 at=now - timedelta(seconds=30)),
        TranscriptFinal(call_id=CALL, leg="caller", start=4.0, end=6.5,
                        text="我点的宫保鸡丁吃了以后有点不舒服"),
        TranscriptFinal(call_id=CALL, leg="agent", start=12.0, end=14.0,
                        text="这个 我 也 不 知道 怎么 回事"),
    ):  # fmt: skip
        bus.publish(event)

    expect(tile).to_have_attribute("data-state", "on_call")
    expect(tile).to_contain_text("通话中")
    expect(tile.get_by_test_id("order-no")).to_have_text("订单 202506180001234567")
    expect(tile).to_contain_text("VIP")
    lines = tile.get_by_test_id("tile-lines")
    expect(lines).to_contain_text("宫保鸡丁")
    expect(lines).to_contain_text("不 知道")
    expect(tile).to_have_attribute("data-alert", "warning")  # the rules engine's CallAlert
    expect(tile.locator(".rm-tile-alert")).to_have_text("坐席禁语")
    alerts = page.get_by_test_id("alerts")
    alert = alerts.locator("li", has_text="坐席禁语")  # (a dead-air alert may come after 20 s)
    expect(alert).to_contain_text("坐席禁语")
    expect(alert).to_contain_text("王小听")
    expect(alert).to_contain_text("「不知道」")
    expect(alert.get_by_test_id("jump")).to_have_text("第 00:12")

    alert.get_by_test_id("jump").click()  # jump to the moment: the call's panel, that line
    panel = page.get_by_test_id("panel")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("panel-title")).to_have_text("坐席 王小听")
    expect(page.get_by_test_id("panel-sub")).to_contain_text("138****5678")
    expect(page.get_by_test_id("panel-order")).to_contain_text("蜀香园（望京店）")
    expect(page.get_by_test_id("panel-order")).to_contain_text("宫保鸡丁 ×1")
    focused = page.get_by_test_id("panel-lines").locator("li.rm-focus")
    expect(focused).to_contain_text("怎么 回事")
    expect(focused).to_have_attribute("data-alert", "true")
    for mode in ("监听", "耳语", "强插"):
        expect(panel.get_by_role("button", name=mode)).to_be_enabled()
    bus.publish(TranscriptFinal(call_id=CALL, leg="caller", start=16.0, end=18.0,
                                text="我要投诉"))  # fmt: skip
    expect(page.get_by_test_id("panel-lines")).to_contain_text("我要投诉")
    expect(alerts.locator("li", has_text="客户情绪激动")).to_contain_text("「投诉」")
    screenshot(page, "room-wallboard.png")

    # This app runs no media workers: the page's headset says so instead of hanging.
    panel.get_by_role("button", name="监听").click()
    expect(page.get_by_test_id("monitor-status")).to_have_text("此服务器不能监听（没有媒体服务）")

    bus.publish(CallEnded(call_id=CALL, reason="caller"))
    expect(page.get_by_test_id("panel-sub")).to_have_text("通话已结束")
    expect(tile.get_by_test_id("order-no")).to_have_count(0)
    expect(alert).to_contain_text("已结束")
