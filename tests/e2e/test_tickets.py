"""Tickets (工单) in headless Chromium: recorded on the desk during a call, then worked on the
tickets page by the agent (status, note, a refund needing approval) and approved by a supervisor;
live SLA alerts, the queues of the responsible parties, and a ticket's calls with their
transcripts (and, for a supervisor, the recording).

The web app alone (``desk_app``); the test publishes the call's events on its bus, and writes
the call's row through ``telephony.actions`` as the hub would, so the ticket can link the call.
The SLA watch is driven with the test's own clock (``SlaWatch.check(now)``) onto the app's bus.
"""

from __future__ import annotations

import csv
import re
import uuid
import wave
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tingyin.accounts.actions import create_user
from tingyin.asr.actions import apply_transcript_event
from tingyin.bus.context import Anomaly, ItemView, OrderCard, Suggestion, TimelineStep
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallRinging,
    TranscriptFinal,
)
from tingyin.telephony.actions import apply_call_event
from tingyin.tickets.actions import NewTicket, create_ticket
from tingyin.tickets.policy import TicketPolicy, load_ticket_policy
from tingyin.tickets.watch import SlaWatch
from tingyin.web.context import AppContext

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(180)

SUPERVISOR = "sup-e2e"
ORDER_NO = "202506180007654321"
CALLER = "13912345678"


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def wait_live(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-state", "open")


@pytest.fixture(scope="module")
def supervisor(desk_app: ServedApp) -> str:
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
    return SUPERVISOR


def suggestion(reason: str, label: str) -> Suggestion:
    return Suggestion(
        reason=reason,
        reason_label=label,
        remedy="coupon",
        remedy_label="致歉并发放 5 元无门槛券",
        priority="high",
        amount_fen=500,
    )


def late_order(now: datetime) -> OrderCard:
    placed = now - timedelta(minutes=75)
    return OrderCard(
        order_no=ORDER_NO, channel="meituan", status="picked_up", merchant="川味小厨",
        store="川味小厨（酒仙桥店）", rider="赵师傅", amount_fen=4680,
        address="北京市朝阳区酒仙桥路 10 号 2 号楼 501", remarks="", flagged_remarks=(),
        placed_at=placed, promised_at=placed + timedelta(minutes=40), delivered_at=None,
        items=(ItemView(name="水煮鱼", quantity=1, unit_price_fen=4680),),
        timeline=(
            TimelineStep(at=placed, kind="placed", actor="customer"),
            TimelineStep(at=placed + timedelta(minutes=2), kind="accepted", actor="merchant"),
            TimelineStep(at=placed + timedelta(minutes=20), kind="ready", actor="merchant"),
            TimelineStep(at=placed + timedelta(minutes=28), kind="picked_up", actor="rider"),
        ),
        anomalies=(Anomaly(kind="late", severity="warning", message="已超过承诺时间 35 分钟",
                           minutes=35),),
        customer_phone="139****5678",
    )  # fmt: skip


def context(call_id: str, now: datetime, reason: str, label: str) -> CallerContextReady:
    return CallerContextReady(
        call_id=call_id, caller="139****5678", number_kind="mobile", caller_kind="customer",
        name="张先生", orders=(late_order(now),), suggestion=suggestion(reason, label),
    )  # fmt: skip


def test_a_ticket_from_the_desk_to_an_approved_refund(
    page: Page, desk_app: ServedApp, supervisor: str
) -> None:
    bus, base, now = desk_app.bus, desk_app.base_url, datetime.now(UTC)
    log_in(page, base, AGENT, PASSWORD)
    wait_live(page)
    form = page.get_by_test_id("ticket-form")
    category = page.get_by_test_id("ticket-category")

    # The category starts from the screen pop's predicted reason.
    bus.publish(context("a0000001", now, "cancelled", "订单被取消"))
    expect(form).to_be_visible()
    expect(category).to_have_value("late")
    bus.publish(context("b0000002", now, "unknown", ""))
    expect(page.get_by_test_id("caller-name")).to_have_text("张先生")
    expect(category).to_have_value("other")

    # A call the hub has recorded rings, and its screen pop arrives.
    call_id = uuid.uuid4().hex
    ring = CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0, caller=CALLER,
                       dialed="4008001234")  # fmt: skip
    with desk_app.db.session() as session:
        apply_call_event(session, ring)
    bus.publish(ring)
    bus.publish(context(call_id, now, "late", "订单超时（催单）"))
    expect(page.get_by_test_id("call-list").locator("button")).to_have_count(3)
    expect(page.get_by_test_id("caller-number")).to_have_text("139****5678")
    expect(category).to_have_value("late")
    expect(page.get_by_test_id("ticket-order")).to_have_value(ORDER_NO)
    expect(page.get_by_test_id("ticket-party")).to_have_value("")
    description = page.get_by_test_id("ticket-description")
    expect(description).to_have_value("订单超时（催单）")
    # What the caller says is quoted into the untouched description; the agent's words are not.
    for leg, text in (("caller", "外卖超时四十分钟了"), ("agent", "我帮您查一下")):
        bus.publish(TranscriptFinal(call_id=call_id, leg=leg, start=1.0, end=3.0, text=text))
    expect(description).to_have_value("订单超时（催单）\n顾客原话：外卖超时四十分钟了")
    description.fill("订单超时（催单）：骑手已取餐 47 分钟仍未送达，顾客催了三次")
    screenshot(page, "desk-ticket-form.png")
    page.get_by_test_id("ticket-submit").click()

    number_link = page.get_by_test_id("ticket-number")
    expect(number_link).to_have_text(re.compile(r"^\d{12}$"))
    number = number_link.inner_text()
    result = page.get_by_test_id("ticket-result")
    expect(result).to_contain_text("已创建工单")
    expect(page.get_by_test_id("ticket-status")).to_have_text("已受理")
    expect(page.get_by_test_id("ticket-priority")).to_have_text("一般")
    expect(page.get_by_test_id("ticket-due")).to_contain_text("SLA 截止")
    expect(page.get_by_test_id("ticket-repeat")).to_be_hidden()
    expect(page.get_by_test_id("tickets")).to_contain_text(number)  # the side list of open ones
    screenshot(page, "desk-ticket.png")
    ticket = page.request.get(f"{base}/api/tickets/{number}").json()
    assert ticket["calls"] == [call_id]
    assert [(c["call_id"], c["caller"]) for c in ticket["linked_calls"]] == [
        (call_id, "139****5678")  # masked: the full number stays on the server
    ]
    assert (ticket["order_no"], ticket["customer_name"]) == (ORDER_NO, "张先生")
    assert ticket["responsible_party"] == "delivery"  # suggested: the category's default

    # The same order again is linked to the open ticket, not a second one.
    page.locator("#ticket-another").click()
    expect(description).to_have_value("订单超时（催单）")
    page.get_by_test_id("ticket-submit").click()
    expect(result).to_have_attribute("data-repeat", "true")
    expect(result).to_contain_text("已关联到未结工单")
    expect(page.get_by_test_id("ticket-repeat")).to_have_text("重复来电")
    expect(number_link).to_have_text(number)

    # The tickets page: listed, with its SLA countdown.
    page.locator("nav a", has_text="工单").click()
    page.wait_for_url(f"{base}/tickets")
    rows = page.get_by_test_id("ticket-list").locator("tbody tr")
    row = rows.filter(has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("延误")
    expect(row).to_contain_text("已受理")
    expect(row.locator(".sla")).to_have_text(re.compile(r"^(剩余|超时) "))
    page.get_by_test_id("filter-category").select_option("food_safety")
    expect(rows).to_have_count(0)
    expect(page.locator("#list-empty")).to_be_visible()
    page.get_by_test_id("filter-category").select_option("")
    expect(row).to_have_count(1)

    # The agent takes it on, notes what was done, asks for a 40 元 refund.
    row.click()
    detail = page.get_by_test_id("ticket-detail")
    expect(page.get_by_test_id("detail-number")).to_have_text(number)
    expect(page.get_by_test_id("detail-description")).to_contain_text("顾客催了三次")
    moves = page.get_by_test_id("status-actions").locator("button")
    expect(moves).to_have_text(["开始处理", "标记已解决"])
    moves.filter(has_text="开始处理").click()
    expect(page.get_by_test_id("detail-status")).to_have_text("处理中")
    expect(row.locator(".ticket-status")).to_have_text("处理中")
    expect(moves).to_have_text(["标记已解决"])

    page.get_by_test_id("note-text").fill("已联系骑手赵师傅，预计 10 分钟内送达")
    page.get_by_test_id("note-public").check()
    page.get_by_test_id("note-submit").click()
    history = page.get_by_test_id("ticket-history").locator("li")
    expect(history.first).to_contain_text("已联系骑手赵师傅")
    expect(history.first).not_to_contain_text("内部")  # public

    page.get_by_test_id("comp-kind").select_option("partial_refund")
    page.get_by_test_id("comp-amount").fill("40")
    page.get_by_test_id("comp-note").fill("超时 35 分钟")
    page.get_by_test_id("comp-submit").click()
    comps = page.get_by_test_id("comp-list").locator("li")
    expect(comps).to_have_count(1)
    expect(comps.first).to_contain_text("部分退款")
    expect(comps.first).to_contain_text("¥40.00")
    expect(comps.first.get_by_test_id("comp-status")).to_have_text("待审批")
    expect(comps.first).to_contain_text("需主管审批")
    expect(detail.get_by_test_id("comp-approve")).to_have_count(0)  # not for agents
    expect(history.first).to_contain_text("申请补偿")
    expect(history.first).to_contain_text("内部")  # pending: not shown to the customer yet

    # The list as a CSV file.
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = (download.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(text.splitlines()))
    assert table[0][:4] == ["工单号", "类别", "优先级", "状态"]
    assert [number, "延误", "一般", "处理中"] in [line[:4] for line in table[1:]]

    # A supervisor approves the refund.
    page.locator("#logout").click()
    page.wait_for_url(f"{base}/login")
    log_in(page, base, supervisor, PASSWORD, then=f"/tickets?number={number}")
    expect(page.get_by_test_id("detail-number")).to_have_text(number)
    expect(page.get_by_test_id("ticket-list").locator("tr[aria-selected='true']")).to_contain_text(
        number
    )
    approve = detail.get_by_test_id("comp-approve")
    expect(approve).to_have_count(1)
    approve.click()
    expect(comps.first.get_by_test_id("comp-status")).to_have_text("已发放")
    expect(detail.get_by_test_id("comp-approve")).to_have_count(0)
    expect(page.get_by_test_id("comp-total")).to_have_text("¥40.00")
    expect(history.first).to_contain_text("补偿审批")
    expect(history.first).to_contain_text("我")  # the supervisor did it
    assert "13912345678" not in page.locator("body").inner_text()
    shot = screenshot(page, "tickets-detail.png")
    assert shot.stat().st_size > 10_000

    # Resolved: the customer's follow-up call is owed; a supervisor may have it placed again.
    moves.filter(has_text="标记已解决").click()
    expect(page.get_by_test_id("detail-status")).to_have_text("已解决")
    followups = page.get_by_test_id("ticket-followups").locator("li")
    expect(followups).to_have_count(1)
    expect(followups.first).to_contain_text("待回访")
    again = page.get_by_test_id("followup-again")
    expect(again).to_be_visible()
    again.click()
    expect(followups).to_have_count(2)
    expect(followups.nth(0)).to_contain_text("已取消")
    expect(followups.nth(1)).to_contain_text("待回访")
    screenshot(page, "tickets-followup.png")

    # English.
    page.locator("#lang-toggle").click()
    expect(page.locator("h1")).to_have_text("Tickets")
    expect(page.get_by_test_id("detail-status")).to_have_text("Resolved")
    expect(comps.first.get_by_test_id("comp-status")).to_have_text("Applied")


def test_the_tickets_page_needs_a_login(page: Page, desk_app: ServedApp) -> None:
    page.goto(f"{desk_app.base_url}/tickets")
    page.wait_for_url(f"{desk_app.base_url}/login")


# -- SLA alerts, queues, and a ticket's calls --------------------------------------------------
ALERT_CALLER = "13787654321"


def always_open() -> TicketPolicy:
    """The packaged policy on a 24×7 calendar: the test's SLA minutes then do not depend on the
    hour the test runs at (the desk hours would stop the clock at night)."""
    policy = load_ticket_policy()
    calendar = policy.calendar.model_copy(update={"always_open": True})
    return policy.model_copy(update={"calendar": calendar})


def recorded_call(app: ServedApp, at: datetime) -> str:
    """A finished, recorded call with a transcript of both sides, stored as the hub stores it."""
    call_id = uuid.uuid4().hex
    context = app.app.state.context
    assert isinstance(context, AppContext)
    recordings = context.settings.recordings_dir
    recordings.mkdir(parents=True, exist_ok=True)
    with wave.open(str(recordings / f"{call_id}.wav"), "wb") as wav:  # 1 s of stereo silence
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0" * 4 * 8000)
    with app.db.session() as session:
        for event in (
            CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                        caller=ALERT_CALLER, dialed="4008001234", at=at),
            CallAnswered(call_id=call_id, at=at + timedelta(seconds=4)),
            CallEnded(call_id=call_id, reason="hangup", at=at + timedelta(seconds=64),
                      recording_path=f"{call_id}.wav", recording_seconds=60.0),
        ):  # fmt: skip
            apply_call_event(session, event)
        for leg, start, text in (
            ("caller", 3.0, "我吃了你们的虾以后过敏了，嘴唇都肿了"),
            ("agent", 9.5, "非常抱歉，我马上为您登记并联系商家"),
        ):
            apply_transcript_event(
                session,
                TranscriptFinal(call_id=call_id, leg=leg, start=start, end=start + 4, text=text),
            )
    return call_id


def test_sla_alerts_queues_and_a_ticket_s_calls(
    page: Page, desk_app: ServedApp, supervisor: str
) -> None:
    base, bus, now = desk_app.base_url, desk_app.bus, datetime.now(UTC)
    policy = always_open()
    call_id = recorded_call(desk_app, now - timedelta(minutes=2))
    log_in(page, base, AGENT, PASSWORD, then="/tickets")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "open")

    # A ticket opened after the page loaded: the page learns of it from the alert, not a poll.
    with desk_app.db.session() as session:
        made = create_ticket(session, policy, NewTicket(category="food_safety",
                             description="吃虾过敏，嘴唇肿了", call_id=call_id), actor=None,
                             now=now)  # fmt: skip
        number = made.ticket.number
    rows = page.get_by_test_id("ticket-list").locator("tbody tr")
    row = rows.filter(has_text=number)
    expect(row).to_have_count(0)
    first_response = policy.sla_for("food_safety", "urgent").first_response_min
    watch = SlaWatch(desk_app.db, policy, bus)
    warned = watch.check(now + timedelta(minutes=first_response * 0.85))
    assert (number, "warning", False) in [(a.number, a.state, a.escalate) for a in warned]
    alert = page.get_by_test_id("sla-alert").filter(has_text=number)
    expect(alert).to_have_text(re.compile(rf"工单 {number} 即将超时(?!，需主管处理)"))
    expect(alert).to_have_attribute("data-state", "warning")
    expect(alert).to_contain_text("首次响应")
    expect(row).to_have_count(1)  # the list was reloaded at once (the poll is every 30 s)
    expect(row).to_have_attribute("data-alert", "warning")

    breached = watch.check(now + timedelta(minutes=first_response + 1))
    assert (number, "breached", True) in [(a.number, a.state, a.escalate) for a in breached]
    expect(alert).to_contain_text(f"工单 {number} 已超时，需主管处理")
    expect(alert).to_have_count(1)  # one bar per ticket: the breach replaced the warning
    expect(row).to_have_attribute("data-alert", "breached")
    expect(row.locator(".sla")).to_have_attribute("data-sla", "breached")
    screenshot(page, "tickets-sla-alert.png")

    # Queues: the merchant's has this ticket, the delivery team's does not.
    queue = page.get_by_test_id("filter-party")
    expect(queue.locator("option", has_text="商家（merchant）")).to_have_count(1)
    queue.select_option("merchant_kitchen")
    expect(row).to_have_count(1)
    queue.select_option("delivery")
    expect(row).to_have_count(0)
    assert "party=delivery" in page.url  # a team can bookmark its queue
    queue.select_option("")
    expect(row).to_have_count(1)

    # Its call, from the alert: summary with a masked number, the transcript on demand.
    alert.get_by_role("button", name="查看").click()
    expect(page.get_by_test_id("detail-number")).to_have_text(number)
    calls = page.get_by_test_id("ticket-call")
    expect(calls).to_have_count(1)
    expect(calls.first.get_by_test_id("call-caller")).to_have_text("137****4321")
    expect(calls.first).to_contain_text("呼入")
    expect(calls.first).to_contain_text("01:04")  # ringing to hang-up
    expect(calls.first.get_by_test_id("call-recording")).to_have_count(0)  # not for agents
    calls.first.get_by_test_id("call-transcript-toggle").click()
    lines = calls.first.get_by_test_id("transcript-segment")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("客户")
    expect(lines.first).to_contain_text("00:03")
    expect(lines.first).to_contain_text("嘴唇都肿了")
    expect(lines.nth(1)).to_contain_text("坐席")
    breach = page.get_by_test_id("ticket-history").locator("li").first  # newest first
    expect(breach).to_contain_text("SLA 超时")
    expect(breach).to_contain_text("已升级至主管")
    assert ALERT_CALLER not in page.locator("body").inner_text()
    screenshot(page, "tickets-calls.png")

    # A supervisor may hear it: a player on the audited recording endpoint.
    page.locator("#logout").click()
    page.wait_for_url(f"{base}/login")
    log_in(page, base, supervisor, PASSWORD, then=f"/tickets?number={number}")
    player = page.get_by_test_id("call-recording")
    expect(player).to_have_count(1)
    src = player.get_attribute("src")
    assert src == f"/api/calls/{call_id}/recording"
    screenshot(page, "tickets-call-recording.png")
    response = page.request.get(f"{base}{src}")
    assert (response.status, response.headers["content-type"]) == (200, "audio/wav")
