"""The agent's desk mirrored in the listening room, in two headless Chromium windows: the agent
types a ticket on the desk, and the supervisor's room shows it beside the call, live.

The web app alone (no telephony): the test publishes the call's events on the app's bus as the
workers and the ACD would, and puts the agent on the call in the store (``agents.actions``),
which is what ``POST /api/desk/mirror`` checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, loopback_tab, screenshot
from tests.e2e.test_desk import food_safety_context
from tingyin.accounts.actions import create_user
from tingyin.accounts.queries import user_by_name
from tingyin.agents.actions import set_state
from tingyin.agents.config import load_queue_config
from tingyin.bus.events import AgentLeg, AgentStateChanged, CallAnswered, CallEnded, CallRinging
from tingyin.telephony.actions import apply_call_event

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.timeout(120)

SUPERVISOR = "sup-mirror"
LIVE_MS = 3_000  # "within a couple of seconds": ~300 ms coalescing, the bus, the socket
FIRST_ORDER, OTHER_ORDER = "202506180001234567", "202506170009876543"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def mirror_app(desk_app: ServedApp) -> ServedApp:
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
    return desk_app


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    """The agent's window: a second browser context, held to the same rules as ``page``."""
    with loopback_tab(browser) as tab:
        yield tab


def test_the_room_mirrors_the_ticket_the_agent_types(
    page: Page, desk: Page, mirror_app: ServedApp
) -> None:
    bus, base, now = mirror_app.bus, mirror_app.base_url, datetime.now(UTC)
    call_id = uuid.uuid4().hex
    ring = CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                       caller="13812345678", dialed="400",
                       at=now - timedelta(seconds=40))  # fmt: skip
    with mirror_app.db.session() as session:
        agent = user_by_name(session, AGENT)
        assert agent is not None
        agent_id = agent.id
        apply_call_event(session, ring)
        config = load_queue_config()  # the ACD's moves: ready, then on this call
        set_state(session, config, agent_id, "ready", now=now - timedelta(minutes=2))
        set_state(session, config, agent_id, "on_call", now=now - timedelta(seconds=30),
                  by="system", call_id=call_id)  # fmt: skip

    log_in(desk, base, AGENT, PASSWORD)
    expect(desk.locator("#live")).to_have_attribute("data-state", "open")
    log_in(page, base, SUPERVISOR, PASSWORD, then="/room")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "open")
    for event in (
        ring,
        CallAnswered(call_id=call_id, at=now - timedelta(seconds=39)),
        food_safety_context(call_id, now),
        AgentStateChanged(user_id=agent_id, username=AGENT, display_name="王小听",
                          state="on_call", since=now - timedelta(seconds=30), call_id=call_id),
        AgentLeg(call_id=call_id, leg_id="leg-1", state="answered", agent_id=agent_id,
                 at=now - timedelta(seconds=30)),
    ):  # fmt: skip
        bus.publish(event)

    # The agent starts the ticket before anyone watches: the room gets it when it opens.
    description = desk.get_by_test_id("ticket-description")
    expect(desk.get_by_test_id("ticket-form")).to_be_visible()
    expect(desk.get_by_test_id("ticket-category")).to_have_value("food_safety")
    description.fill("")
    description.press_sequentially("顾客吃了宫保鸡丁后过敏", delay=20)
    desk.get_by_test_id("ticket-party").select_option("merchant_kitchen")

    tile = page.get_by_test_id(f"tile-{AGENT}")
    expect(tile).to_have_attribute("data-state", "on_call")
    tile.click()
    draft = page.get_by_test_id("panel-draft")
    expect(draft).to_be_visible()
    expect(draft).to_contain_text("工单草稿")
    expect(draft.get_by_test_id("draft-description")).to_have_text(
        "顾客吃了宫保鸡丁后过敏", timeout=LIVE_MS
    )
    expect(draft.get_by_test_id("draft-category")).to_have_text("食品安全/过敏")
    expect(draft.get_by_test_id("draft-party")).to_have_text("商家")
    expect(draft.get_by_test_id("draft-order")).to_have_text(FIRST_ORDER)
    expect(draft.get_by_test_id("draft-status")).to_have_text("坐席编辑中")

    # Live from here: more words, a phone number the caller dictates (masked on the way), and
    # the other order picked on the agent's card (the room's order card follows it).
    description.press_sequentially("，回电 13900001111", delay=20)
    expect(draft.get_by_test_id("draft-description")).to_have_text(
        "顾客吃了宫保鸡丁后过敏，回电 139****1111", timeout=LIVE_MS
    )
    desk.get_by_test_id("order-list").locator("button", has_text=OTHER_ORDER).click()
    expect(page.get_by_test_id("panel-order")).to_contain_text(
        f"订单 {OTHER_ORDER}", timeout=LIVE_MS
    )
    desk.get_by_test_id("ticket-order").select_option(OTHER_ORDER)
    expect(draft.get_by_test_id("draft-order")).to_have_text(OTHER_ORDER, timeout=LIVE_MS)
    expect(page.get_by_test_id("panel-order")).to_contain_text("坐席正在查看")
    screenshot(page, "room-desk-mirror.png")
    page.locator("#lang-toggle").click()  # the panel in English, and back
    expect(draft).to_contain_text("Ticket draft")
    expect(draft.get_by_test_id("draft-category")).to_have_text("Food safety / allergy")
    expect(draft.get_by_test_id("draft-status")).to_have_text("Agent typing")
    page.locator("#lang-toggle").click()
    expect(draft).to_contain_text("工单草稿")

    # Submitted: the room shows the ticket's number at once.
    desk.get_by_test_id("ticket-submit").click()
    expect(desk.get_by_test_id("ticket-result")).to_contain_text("已创建工单")
    number = desk.get_by_test_id("ticket-number").inner_text()
    expect(draft.get_by_test_id("draft-status")).to_have_text(f"已提交 {number}", timeout=LIVE_MS)

    # The call ends: the draft goes with it.
    bus.publish(CallEnded(call_id=call_id, reason="caller"))
    expect(page.get_by_test_id("panel-sub")).to_have_text("通话已结束")
    expect(draft).to_be_hidden()
    reply = page.request.get(f"{base}/api/room/mirror/{agent_id}").json()
    assert reply["draft"] is None
