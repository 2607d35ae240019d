"""Calls the agent starts from the desk: the 外呼 form (shown to agents with a phone) and the
三方通话 form on a call the agent is talking on. The web app runs alone here (no telephony):
the 3-way request is checked on the bus, the call out against an install without an outbound
route (the server's refusal is shown). Real calls: tests/integration/test_softphone.py."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tingyin.accounts.queries import user_by_name
from tingyin.agents.actions import ProfileChanges, configure_agent, set_state
from tingyin.agents.config import load_queue_config
from tingyin.bus.events import AgentLeg, CallAnswered, CallRinging, PartyRequested
from tingyin.telephony.actions import apply_call_event

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_dial_out_and_bring_a_third_party_in(page: Page, desk_app: ServedApp) -> None:
    from playwright.sync_api import expect

    from tests.e2e.test_desk import wait_live

    bus, config = desk_app.bus, load_queue_config()
    with desk_app.db.session() as session:
        user = user_by_name(session, AGENT)
        assert user is not None
        uid = user.id
        configure_agent(session, uid, ProfileChanges(phone_uri="sip:8001@127.0.0.1:5099"))
    parties: list[PartyRequested] = []
    arrived = threading.Event()

    async def on_party(event: PartyRequested) -> None:
        parties.append(event)
        arrived.set()

    unsubscribe = bus.subscribe(PartyRequested, on_party)
    try:
        log_in(page, desk_app.base_url, AGENT, PASSWORD)
        wait_live(page)
        form = page.get_by_test_id("dial-form")
        expect(form).to_be_visible()  # the agent has a phone
        page.get_by_test_id("dial-number").fill("13912345678")
        page.get_by_test_id("dial-submit").click()
        expect(page.get_by_test_id("dial-status")).to_have_text("outbound calls are off")

        # On a call the ACD gave them, the agent rings the rider in.
        call_id, leg_id = uuid.uuid4().hex, uuid.uuid4().hex
        ring = CallRinging(call_id=call_id, sip_call_id=f"sip-{call_id}", worker=0,
                           caller="13855557777", dialed="4008001234")  # fmt: skip
        with desk_app.db.session() as session:
            for call_event in (ring, CallAnswered(call_id=call_id, codec="PCMU")):
                apply_call_event(session, call_event)
            for state in ("ready", "ringing", "on_call"):
                set_state(session, config, uid, state, now=datetime.now(UTC), by="system",
                          call_id=call_id)  # fmt: skip
        bus.publish(ring)
        bus.publish(AgentLeg(call_id=call_id, leg_id=leg_id, state="answered", agent_id=uid))
        opener = page.get_by_test_id("party-open")
        expect(opener).to_be_visible()
        opener.click()
        page.get_by_test_id("party-number").fill("13700001111")
        page.get_by_test_id("party-submit").click()
        expect(page.get_by_test_id("party-status")).to_have_text("正在呼叫 137****1111 加入通话")
        screenshot(page, "desk-3way.png")
        assert arrived.wait(5), "no PartyRequested on the bus"
        assert (parties[0].call_id, parties[0].number, parties[0].by_user) == (
            call_id, "13700001111", uid,
        )  # fmt: skip
    finally:
        unsubscribe()
