"""The agent's state control on the desk (就绪 / 示忙 / 离线) in headless Chromium, and the
transfer (转接) of a call the ACD connected the agent to: blind, or after consulting a colleague
(咨询转接).

The web app alone: the agent changes their own state through the page; the system's moves (the
ACD ringing them, connecting a call) arrive as ``AgentStateChanged`` events the test publishes,
and the states the transfer API checks are written through ``agents.actions`` as the ACD would.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tingyin.accounts.actions import create_user
from tingyin.accounts.queries import user_by_name
from tingyin.agents.actions import set_state, state_event
from tingyin.agents.config import load_queue_config
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallAnswered,
    CallRinging,
    ConsultLeg,
    ConsultRequested,
    TransferRequested,
)
from tingyin.store.models import AgentProfile, User
from tingyin.telephony.actions import apply_call_event

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


def test_an_agent_transfers_the_call_the_acd_gave_them(page: Page, desk_app: ServedApp) -> None:
    from tests.e2e.test_desk import wait_live

    bus, config, uid = desk_app.bus, load_queue_config(), agent_id(desk_app)
    call_id, leg_id = uuid.uuid4().hex, uuid.uuid4().hex
    with desk_app.db.session() as session:  # a colleague who is ready: a possible target
        colleague = create_user(session, "agent-e2e-2", PASSWORD, "agent", display_name="李小帮")
        set_state(session, config, colleague.id, "ready", now=datetime.now(UTC))
        colleague_id = colleague.id
    heard: list[TransferRequested] = []
    arrived = threading.Event()

    async def on_transfer(event: TransferRequested) -> None:
        heard.append(event)
        arrived.set()

    unsubscribe = bus.subscribe(TransferRequested, on_transfer)
    try:
        log_in(page, desk_app.base_url, AGENT, PASSWORD)
        expect(page.locator("#user-name")).to_have_text("王小听")
        wait_live(page)
        # A call the hub has recorded (answered by the IVR) waits; the ACD offers it to this
        # agent.
        ring = CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                           caller="13855556666", dialed="4008001234")  # fmt: skip
        answered = CallAnswered(call_id=call_id, codec="PCMU")
        with desk_app.db.session() as session:
            for call_event in (ring, answered):
                apply_call_event(session, call_event)
            for state in ("ready", "ringing"):
                set_state(session, config, uid, state, now=datetime.now(UTC), by="system",
                          call_id=call_id)  # fmt: skip
        bus.publish(ring)
        bus.publish(answered)
        bus.publish(AgentLeg(call_id=call_id, leg_id=leg_id, state="ringing", agent_id=uid))
        flags, opener = page.get_by_test_id("caller-flags"), page.get_by_test_id("transfer-open")
        expect(flags).to_contain_text("分配给您")
        expect(opener).to_be_hidden()  # ringing: nothing to transfer yet

        # The agent answers: the button shows. The ACD has not yet stored the agent as on the
        # call, so the server refuses and the page says why.
        bus.publish(AgentLeg(call_id=call_id, leg_id=leg_id, state="answered", agent_id=uid))
        expect(opener).to_be_visible()
        expect(opener).to_have_text("转接")
        opener.click()
        panel = page.get_by_test_id("transfer-panel")
        expect(panel).to_be_visible()
        queue, other = page.get_by_test_id("transfer-queue"), page.get_by_test_id("transfer-agent")
        expect(queue.locator("option")).to_have_text(
            ["选择队列", "顾客热线", "骑手专线", "商家专线", "VIP 专席"]
        )
        expect(other.locator("option")).to_have_text(["选择空闲坐席", "李小帮"])  # not oneself
        submit = page.get_by_test_id("transfer-submit")
        expect(submit).to_be_disabled()
        other.select_option(str(colleague_id))
        queue.select_option("customer")  # a queue or an agent, not both
        expect(other).to_have_value("")
        expect(submit).to_be_enabled()
        submit.click()
        error = page.get_by_test_id("transfer-error")
        expect(error).to_have_text("转接失败：only the agent on the call or a supervisor")
        expect(panel).to_be_visible()

        # Now the store has the agent on the call: the transfer goes through.
        with desk_app.db.session() as session:
            profile = set_state(session, config, uid, "on_call", now=datetime.now(UTC),
                                by="system", call_id=call_id)  # fmt: skip
            bus.publish(state_event(session.get_one(User, uid), profile))
        expect(page.get_by_test_id("state-label")).to_have_text("通话中")
        other.select_option(str(colleague_id))  # a new choice clears the old refusal
        expect(error).to_be_hidden()
        queue.select_option("customer")
        expect(queue).to_have_value("customer")
        shot = screenshot(page, "desk-transfer.png")
        assert shot.stat().st_size > 10_000
        submit.click()
        done = page.get_by_test_id("transfer-done")
        expect(done).to_have_text("已转接 · 顾客热线")
        expect(opener).to_be_hidden()
        expect(panel).to_be_hidden()
        assert arrived.wait(5), "no TransferRequested on the bus"
        (event,) = heard  # the refused attempt published nothing
        assert (event.call_id, event.queue, event.agent_id, event.by_user) == (
            call_id,
            "customer",
            0,
            uid,
        )
        # The worker releases the agent's leg: the call is no longer mine, still transferred.
        bus.publish(AgentLeg(call_id=call_id, leg_id=leg_id, state="ended", agent_id=uid))
        expect(flags).not_to_contain_text("分配给您")
        expect(done).to_be_visible()
        expect(opener).to_be_hidden()
    finally:
        unsubscribe()


def test_an_agent_consults_a_colleague_then_hands_the_call_over(
    page: Page, desk_app: ServedApp
) -> None:
    from tests.e2e.test_desk import wait_live

    bus, config, uid = desk_app.bus, load_queue_config(), agent_id(desk_app)
    call_id, leg_id = uuid.uuid4().hex, uuid.uuid4().hex
    with desk_app.db.session() as session:
        colleague = create_user(session, "agent-e2e-3", PASSWORD, "agent", display_name="赵小咨")
        set_state(session, config, colleague.id, "ready", now=datetime.now(UTC))
        colleague_id = colleague.id
    asked: list[ConsultRequested] = []

    async def on_consult(event: ConsultRequested) -> None:
        asked.append(event)

    unsubscribe = bus.subscribe(ConsultRequested, on_consult)

    def consult_leg(state: str) -> None:  # from the worker, and into the CDR as the hub would
        event = ConsultLeg(call_id=call_id, leg_id=leg_id, state=state, agent_id=colleague_id,
                           from_agent=uid)  # fmt: skip
        with desk_app.db.session() as session:
            apply_call_event(session, event)
        bus.publish(event)

    try:
        ring = CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                           caller="13877778888", dialed="4008001234")  # fmt: skip
        answered = CallAnswered(call_id=call_id, codec="PCMU")
        with desk_app.db.session() as session:
            for call_event in (ring, answered):
                apply_call_event(session, call_event)
            for state in ("ready", "on_call"):
                set_state(session, config, uid, state, now=datetime.now(UTC), by="system",
                          call_id=call_id)  # fmt: skip
        log_in(page, desk_app.base_url, AGENT, PASSWORD)
        wait_live(page)
        bus.publish(ring)
        bus.publish(answered)
        bus.publish(AgentLeg(call_id=call_id, leg_id="a" * 32, state="answered", agent_id=uid))
        expect(page.get_by_test_id("caller-number")).to_have_text("138****8888")
        page.get_by_test_id("transfer-open").click()
        consult, submit = (
            page.get_by_test_id("transfer-consult"),
            page.get_by_test_id("transfer-submit"),
        )
        expect(consult).to_be_disabled()  # only for an agent
        page.get_by_test_id("transfer-number").fill("010-6234-5678")  # an outside number …
        expect(submit).to_be_enabled()
        page.get_by_test_id("transfer-agent").select_option(str(colleague_id))  # … or not
        expect(page.get_by_test_id("transfer-number")).to_have_value("")
        consult.check()
        expect(submit).to_have_text("开始咨询")
        submit.click()

        bar, status = page.get_by_test_id("consult-bar"), page.get_by_test_id("consult-status")
        complete = page.get_by_test_id("consult-complete")
        expect(bar).to_be_visible()
        expect(page.get_by_test_id("transfer-panel")).to_be_hidden()
        expect(page.get_by_test_id("transfer-open")).to_be_hidden()  # not while consulting
        consult_leg("ringing")
        expect(status).to_have_text("咨询中：赵小咨振铃，客户正在听等待音乐")
        expect(complete).to_be_disabled()
        consult_leg("answered")
        expect(status).to_have_text("咨询中：正在与赵小咨通话，客户正在听等待音乐")
        expect(complete).to_be_enabled()
        shot = screenshot(page, "desk-consult.png")
        assert shot.stat().st_size > 10_000
        complete.click()
        expect(complete).to_be_enabled()  # the server accepted; the worker hands over
        consult_leg("completed")
        expect(bar).to_be_hidden()
        expect(page.get_by_test_id("transfer-done")).to_have_text("已转接 · 赵小咨")
        assert [(e.action, e.agent_id, e.by_user) for e in asked] == [
            ("start", colleague_id, uid),
            ("complete", 0, uid),
        ]
    finally:
        unsubscribe()
