"""The agent desk (坐席工作台) in headless Chromium.

- ``test_the_desk_draws_every_part_of_a_screen_pop``: the web app alone; the test publishes
  the events a call produces on its bus and checks every part of the page.
- ``test_agent_sees_order_pop_on_a_real_call``: a real hub with the demo scenarios planted;
  a real SIP call from the food-safety customer's number pops their order.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, missing_tool, screenshot
from tests.integration import hubproc
from tests.integration.clients import place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tingyin.bus.context import Anomaly, ItemView, OrderCard, RecentCall, Suggestion, TimelineStep
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallRinging,
    TranscriptFinal,
    TranscriptPartial,
)
from tingyin.config import Settings
from tingyin.screenpop.scenarios import Scenarios, plant_scenarios
from tingyin.store import Database

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(180)

RED = "rgb(220, 38, 38)"  # desk.css .remarks .flag


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def wait_live(page: Page) -> None:
    """The page's websocket is open: events published from now on reach it."""
    expect(page.locator("#live")).to_have_attribute("data-state", "open")


# -- a hand-made screen pop ------------------------------------------------------------------
def food_safety_context(call_id: str, now: datetime, revision: int = 1) -> CallerContextReady:
    placed = now - timedelta(hours=2, minutes=10)
    first = OrderCard(
        order_no="202506180001234567",
        channel="meituan",
        status="delivered",
        merchant="蜀香园餐饮",
        store="蜀香园（望京店）",
        rider="刘师傅",
        amount_fen=6850,
        address="北京市朝阳区望京街道阜通东大街 6 号院 3 号楼 1202",
        remarks="不要香菜，我对花生过敏，请务必注意",
        flagged_remarks=("过敏", "不要"),
        placed_at=placed,
        promised_at=placed + timedelta(minutes=40),
        delivered_at=placed + timedelta(minutes=65),
        items=(
            ItemView(name="宫保鸡丁", quantity=1, unit_price_fen=3200, spec="微辣"),
            ItemView(name="米饭", quantity=2, unit_price_fen=300),
            ItemView(name="酸梅汤", quantity=1, unit_price_fen=850, spec="少冰"),
        ),
        timeline=(
            TimelineStep(at=placed, kind="placed", actor="customer"),
            TimelineStep(at=placed + timedelta(minutes=3), kind="accepted", actor="merchant"),
            TimelineStep(at=placed + timedelta(minutes=31), kind="ready", actor="merchant"),
            TimelineStep(
                at=placed + timedelta(minutes=38),
                kind="picked_up",
                actor="rider",
                note="刘师傅 已取餐",
            ),
            TimelineStep(at=placed + timedelta(minutes=65), kind="delivered", actor="rider"),
        ),
        anomalies=(
            Anomaly(
                kind="delivered_late",
                severity="info",
                message="送达比承诺时间晚了 25 分钟",
                minutes=25,
            ),
            Anomaly(kind="food_safety", severity="critical", message="备注写明花生过敏", minutes=0),
        ),
        customer_phone="138****5678",
    )
    second = dataclasses.replace(
        first,
        order_no="202506170009876543",
        channel="eleme",
        status="refunded",
        merchant="老王麻辣烫",
        store="老王麻辣烫（酒仙桥店）",
        amount_fen=3290,
        remarks="多放辣",
        flagged_remarks=(),
        placed_at=now - timedelta(days=1),
        promised_at=now - timedelta(days=1) + timedelta(minutes=35),
        delivered_at=None,
        items=(ItemView(name="麻辣烫套餐", quantity=1, unit_price_fen=3290),),
        timeline=(TimelineStep(at=now - timedelta(days=1), kind="placed", actor="customer"),),
        anomalies=(),
    )
    if revision == 1:
        suggestion = Suggestion(
            reason="food_safety", reason_label="食品安全 / 过敏反应", remedy="escalate",
            remedy_label="立即转主管：询问症状、建议就医，全额退款并登记食品安全工单",
            priority="urgent", amount_fen=6850, rule="food-safety",
        )  # fmt: skip
    else:
        suggestion = Suggestion(
            reason="late", reason_label="订单超时（催单）", remedy="coupon",
            remedy_label="致歉并发放 5 元无门槛券", priority="high", amount_fen=500, rule="late-20",
        )  # fmt: skip
    return CallerContextReady(
        call_id=call_id,
        caller="138****5678",
        number_kind="mobile",
        caller_kind="customer",
        name="李女士",
        flags=("vip", "frequent_complainer"),
        via_binding=True,
        orders=(first, second),
        calls_24h=3,
        recent_calls=(
            RecentCall(
                call_id="old-1",
                started_at=now - timedelta(hours=1),
                status="ended",
                end_reason="hangup",
            ),
            RecentCall(
                call_id="old-2",
                started_at=now - timedelta(hours=5),
                status="missed",
                end_reason="cancelled",
            ),
        ),
        open_tickets=("GD-20250618-0042",),
        suggestion=suggestion,
        source="sql",
        lookup_ms=12.4,
        revision=revision,
        ivr_path=("welcome", "order_by_caller", "to_agent"),
    )


def ringing(call_id: str, caller: str) -> CallRinging:
    return CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0, caller=caller,
                       dialed="4008001234")  # fmt: skip


def test_the_desk_draws_every_part_of_a_screen_pop(page: Page, desk_app: ServedApp) -> None:
    bus, now = desk_app.bus, datetime.now(UTC)
    log_in(page, desk_app.base_url, AGENT, PASSWORD)
    wait_live(page)
    expect(page.locator("#idle")).to_be_visible()
    expect(page.locator("#user-name")).to_have_text("王小听")

    # Ringing: the number is masked at once, before any lookup.
    bus.publish(ringing("e2e-1", "13812345678"))
    expect(page.get_by_test_id("call-state")).to_have_text("来电振铃中")
    expect(page.get_by_test_id("caller-number")).to_have_text("138****5678")
    expect(page.get_by_test_id("context-note")).to_have_text("正在查询来电方信息…")

    # The screen pop.
    bus.publish(food_safety_context("e2e-1", now))
    expect(page.get_by_test_id("caller-kind")).to_have_text("顾客")
    expect(page.get_by_test_id("caller-name")).to_have_text("李女士")
    flags = page.get_by_test_id("caller-flags")
    for text in ("VIP", "频繁投诉", "隐私号", "24小时内来电 3 次"):
        expect(flags).to_contain_text(text)
    meta = page.locator("#caller-meta")  # how the caller got here through the IVR
    expect(meta).to_contain_text("自助语音路径：welcome → order_by_caller → to_agent")
    suggestion = page.get_by_test_id("suggestion")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_have_attribute("data-priority", "urgent")
    expect(suggestion).to_contain_text("食品安全 / 过敏反应")
    expect(suggestion).to_contain_text("立即转主管")
    expect(suggestion).to_contain_text("¥68.50")

    expect(page.get_by_test_id("order-no")).to_have_text("202506180001234567")
    expect(page.get_by_test_id("order-channel")).to_have_text("美团")
    expect(page.get_by_test_id("order-status")).to_have_text("已送达")
    expect(page.get_by_test_id("order-amount")).to_have_text("¥68.50")
    remarks = page.get_by_test_id("remarks")
    expect(remarks).to_have_class(re.compile(r"\bflagged\b"))
    flagged = remarks.locator(".flag")
    expect(flagged).to_have_text(["不要", "过敏"])
    expect(flagged.filter(has_text="过敏")).to_have_css("color", RED)
    expect(remarks).to_contain_text("不要香菜，我对花生过敏，请务必注意")
    anomalies = page.get_by_test_id("anomalies").locator("li")
    expect(anomalies).to_have_count(2)
    expect(anomalies.first).to_have_attribute("data-severity", "critical")  # worst first
    expect(anomalies.first).to_have_text("备注写明花生过敏")
    steps = page.get_by_test_id("timeline").locator("li")
    expect(steps).to_have_count(5)
    expect(steps.first).to_contain_text("下单")
    expect(steps.last).to_contain_text("送达")
    expect(page.get_by_test_id("items").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("history").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("tickets")).to_have_text("GD-20250618-0042")

    # The other order, and back.
    page.get_by_test_id("order-list").locator("button", has_text="202506170009876543").click()
    expect(page.get_by_test_id("order-no")).to_have_text("202506170009876543")
    expect(page.get_by_test_id("order-status")).to_have_text("已退款")
    expect(page.get_by_test_id("remarks").locator(".flag")).to_have_count(0)
    page.get_by_test_id("order-list").locator("button", has_text="202506180001234567").click()
    expect(page.get_by_test_id("order-no")).to_have_text("202506180001234567")

    # Answered; the transcript: a partial in grey, replaced by the final.
    bus.publish(CallAnswered(call_id="e2e-1", codec="PCMU"))
    expect(page.get_by_test_id("call-state")).to_have_text("通话中")
    transcript = page.get_by_test_id("transcript")
    bus.publish(TranscriptPartial(call_id="e2e-1", leg="caller", text="我吃了你们的"))
    expect(transcript.locator(".msg.partial")).to_contain_text("我吃了你们的")
    bus.publish(TranscriptFinal(call_id="e2e-1", leg="caller", start=1.2, end=4.0,
                                text="我吃了你们的宫保鸡丁，现在过敏了"))  # fmt: skip
    bus.publish(TranscriptFinal(call_id="e2e-1", leg="agent", start=4.5, end=7.0,
                                text="非常抱歉，请问您现在身体怎么样？"))  # fmt: skip
    expect(transcript.locator(".msg.partial")).to_have_count(0)
    caller_line = transcript.locator('.msg[data-leg="caller"]')
    agent_line = transcript.locator('.msg[data-leg="agent"]')
    expect(caller_line).to_contain_text("现在过敏了")
    expect(agent_line).to_contain_text("请问您现在身体怎么样")
    caller_box, agent_box = caller_line.bounding_box(), agent_line.bounding_box()
    assert caller_box and agent_box and agent_box["x"] > caller_box["x"]  # agent on the right

    # The raw number never reaches the page's text.
    assert "13812345678" not in page.locator("body").inner_text()
    shot = screenshot(page, "desk-rendering.png")
    assert shot.stat().st_size > 10_000

    # A later revision replaces the earlier one; an older one arriving late does not.
    bus.publish(food_safety_context("e2e-1", now, revision=2))
    expect(suggestion).to_have_attribute("data-priority", "high")
    bus.publish(food_safety_context("e2e-1", now, revision=1))
    bus.publish(TranscriptPartial(call_id="e2e-1", leg="caller", text="嗯"))  # a marker
    expect(transcript.locator(".msg.partial")).to_contain_text("嗯")
    expect(suggestion).to_have_attribute("data-priority", "high")
    expect(suggestion).to_contain_text("订单超时（催单）")

    # Another call rings: the newest takes the screen; the agent can switch back.
    bus.publish(ringing("e2e-2", "13987654321"))
    expect(page.get_by_test_id("caller-number")).to_have_text("139****4321")
    calls = page.get_by_test_id("call-list").locator("button")
    expect(calls).to_have_count(2)
    calls.filter(has_text="138****5678").click()
    expect(page.get_by_test_id("caller-name")).to_have_text("李女士")
    # Chosen by the agent: a third call does not take its place.
    bus.publish(ringing("e2e-3", "13700001111"))
    expect(calls).to_have_count(3)
    expect(page.get_by_test_id("caller-name")).to_have_text("李女士")

    # The search box: nothing found shows the server's message.
    page.get_by_test_id("search-input").fill("13900001111")
    page.get_by_test_id("search-input").press("Enter")
    result = page.get_by_test_id("search-result")
    expect(result).to_be_visible()
    expect(result).to_contain_text("按电话")
    expect(result).to_contain_text("未找到")
    expect(page.locator("#view")).to_be_hidden()
    screenshot(page, "desk-search.png")
    page.locator("#search-close").click()
    expect(result).to_be_hidden()
    expect(page.get_by_test_id("caller-name")).to_have_text("李女士")

    # The call ends.
    bus.publish(CallEnded(call_id="e2e-1", reason="hangup"))
    expect(page.get_by_test_id("call-state")).to_have_text("已结束 · 已挂断")

    # English.
    page.locator("#lang-toggle").click()
    expect(page.locator("h1")).to_have_text("Agent desk")
    expect(page.get_by_test_id("caller-kind")).to_have_text("Customer")
    expect(page.get_by_test_id("call-state")).to_have_text("Ended · Hung up")


def test_the_desk_needs_a_login(page: Page, desk_app: ServedApp) -> None:
    page.goto(f"{desk_app.base_url}/desk")
    page.wait_for_url(f"{desk_app.base_url}/login")


# -- a real call -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningHub, Scenarios]]:
    """A real hub (one media worker) whose database holds the demo scenarios, planted first."""
    if shutil.which("kamailio") is None:
        missing_tool("the real-call test needs kamailio")
    data_dir = tmp_path_factory.mktemp("hub") / "data"
    data_dir.mkdir(parents=True)
    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    db.migrate()
    try:
        scenarios = plant_scenarios(db, now=datetime.now(UTC))
    finally:
        db.dispose()
    running = start_hub(data_dir, workers=1)
    with serving_module(request, running):
        yield running, scenarios


@pytest.mark.integration
def test_agent_sees_order_pop_on_a_real_call(
    page: Page, seeded_hub: tuple[RunningHub, Scenarios]
) -> None:
    hub, scenarios = seeded_hub
    customer = scenarios.food_safety_customer
    log_in(page, hub.http_url, "it-agent", hubproc.PASSWORD)
    wait_live(page)
    expect(page.locator("#idle")).to_be_visible()

    caller = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}",
        caller=customer,
        hangup_after=12,
        wait=False,
    )
    try:
        expect(page.get_by_test_id("order-no")).to_have_text(
            scenarios.food_safety_order, timeout=20_000
        )
        # Masked by the screen pop (its format is the screen pop's: 138****0004 or +86****0004).
        number = page.get_by_test_id("caller-number")
        expect(number).to_have_text(re.compile(rf"^\S*\*{{3,}}{customer[-4:]}$"))
        expect(page.get_by_test_id("caller-kind")).to_have_text("顾客")
        expect(page.get_by_test_id("remarks").locator(".flag", has_text="过敏")).to_be_visible()
        expect(page.get_by_test_id("suggestion")).to_be_visible()
        expect(page.locator("#suggestion-reason")).not_to_be_empty()
        expect(page.locator("#suggestion-remedy")).not_to_be_empty()
        assert customer not in page.locator("body").inner_text()
        screenshot(page, "desk-screenpop.png")
        # Opened (or reloaded) mid-call, the desk finds the call and its screen pop again.
        page.reload()
        wait_live(page)
        expect(page.get_by_test_id("order-no")).to_have_text(scenarios.food_safety_order)
        expect(page.get_by_test_id("remarks").locator(".flag", has_text="过敏")).to_be_visible()
        # The test caller hangs up; the desk says so.
        expect(page.get_by_test_id("call-state")).to_contain_text("已结束", timeout=40_000)
    finally:
        try:
            caller.wait(timeout=60)
        except subprocess.TimeoutExpired:
            caller.kill()
            caller.wait()
