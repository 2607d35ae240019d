"""Attended (consult) transfer: the agent on a call rings a colleague before handing over.

While the colleague's phone rings and while the two talk, the customer holds with music; the
consult leg is bridged to the first agent only (the recording keeps the first agent on its
right channel, as on hold). Then:

- complete: the first agent's leg ends "transferred", the consult leg becomes the customer's
  agent leg (bridged to the customer and the recording's right channel; ``AgentLeg`` answered
  for the new agent, so the ACD sets them on call and the first goes to wrap-up);
- cancel, no answer, or the colleague hangs up: the consult leg ends and the customer talks to
  the first agent again;
- the first agent hangs up once the colleague has answered: the same as complete;
- the customer hangs up: everything ends (``AgentLegs.customer_finished``).

The leg is an ``ActiveCall`` like an agent leg (SIP or a browser's ``BrowserCall``), so ringing
time-outs, answer and media go through ``AgentLegs``, which hands consult legs to this class.
Runs on the worker's SIP loop thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.bus.events import ConsultLeg
from tingyin.privacy import mask_number, number_from_uri
from tingyin.telephony.browser_leg import BrowserCall, is_browser_uri

if TYPE_CHECKING:
    from tingyin.telephony.agent_legs import AgentLegs
    from tingyin.telephony.endpoint import ActiveCall, MediaWorker

log = logging.getLogger(__name__)


class ConsultLegs:
    def __init__(self, worker: MediaWorker, legs: AgentLegs) -> None:
        self.worker = worker
        self.legs = legs

    def start(self, command: dict[str, Any]) -> None:
        """Ring ``uri`` (agent ``agent_id``) for the agent talking to customer ``call_id``."""
        from tingyin.telephony.endpoint import ActiveCall, WorkerCall

        worker = self.worker
        call_id, leg_id = str(command["call_id"]), str(command["leg_id"])
        uri, agent_id = str(command["uri"]), int(command.get("agent_id", 0))
        customer = worker.calls.get(call_id)
        first = worker.calls.get(customer.agent_leg or "") if customer else None
        if customer is None or customer.ended or first is None or not first.bridged:
            self._tell(call_id, leg_id, "failed", agent_id, 0, "no-call")
            return
        if customer.consult_leg is not None:
            self._tell(call_id, leg_id, "failed", agent_id, first.agent_id, "busy-consulting")
            return
        browser = is_browser_uri(uri)
        call: Any
        if browser:
            call = BrowserCall(worker, leg_id)
        else:
            call = WorkerCall(worker, worker.outbound_account(str(command.get("caller", ""))),
                              pj.PJSUA_INVALID_ID, leg_id)  # fmt: skip
        leg = ActiveCall(call_id=leg_id, call=call, direction="consult", parent=call_id)
        leg.consult, leg.agent_id = True, agent_id
        leg.ring_deadline = time.monotonic() + float(command.get("ring_seconds", 15))
        with worker.lock:
            worker.calls[leg_id] = leg
        customer.consult_leg = leg_id
        self._hold(customer, first, str(command.get("music", "")))
        where = "the browser" if browser else mask_number(number_from_uri(uri))
        log.info("call %s: agent %d consults agent %d at %s", call_id, first.agent_id, agent_id,
                 where)  # fmt: skip
        self._tell(call_id, leg_id, "ringing", agent_id, first.agent_id)
        if browser:
            return  # the page rings; ``answer_browser`` answers
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:  # no free line in this worker, a bad URI
            log.warning("call %s: consult leg not placed: %s", call_id, exc.info())
            leg.end_reason = "no-line"
            worker.finish(leg, "no-line", 0)

    def complete(self, call_id: str) -> None:
        customer = self.worker.calls.get(call_id)
        if customer is None or customer.ended:
            return
        leg = self.worker.calls.get(customer.consult_leg or "")
        first = self.worker.calls.get(customer.agent_leg or "")
        if leg is None or leg.ended or not leg.bridged or first is None or first.ended:
            return
        self._hand_over(customer, first, leg)
        first.end_reason = "transferred"
        _hangup(first.call)

    def cancel(self, call_id: str) -> None:
        customer = self.worker.calls.get(call_id)
        leg = self.worker.calls.get(customer.consult_leg or "") if customer else None
        if leg is not None and not leg.ended:
            leg.end_reason = "cancelled"
            _hangup(leg.call)

    def take_over(self, customer: ActiveCall, first: ActiveCall) -> bool:
        """The first agent hung up while consulting: an answered colleague gets the customer
        (called from the first leg's own end, while its bridge port still exists)."""
        leg = self.worker.calls.get(customer.consult_leg or "")
        if leg is None or leg.ended or not leg.bridged:
            return False
        self._hand_over(customer, first, leg)
        return True

    # -- the consult leg's life (from ``AgentLegs``) ------------------------------------------
    def connect(self, leg: ActiveCall) -> None:
        """Answered with its media up: the colleague and the first agent hear each other."""
        customer = self.worker.calls.get(leg.parent or "")
        first = self.worker.calls.get(customer.agent_leg or "") if customer else None
        if customer is None or customer.ended or first is None or first.ended or leg.bridged:
            return
        if not (leg.answered and leg.audio is not None and first.audio is not None):
            return
        first.audio.startTransmit(leg.audio)
        leg.audio.startTransmit(first.audio)
        leg.bridged = True
        self._tell(customer.call_id, leg.call_id, "answered", leg.agent_id, first.agent_id)

    def finished(self, leg: ActiveCall, reason: str) -> None:
        """The consult leg ended before it was handed the customer: back to the first agent."""
        customer = self.worker.calls.get(leg.parent or "")
        first = self.worker.calls.get(customer.agent_leg or "") if customer else None
        if customer is not None and customer.consult_leg == leg.call_id:
            customer.consult_leg = None
        if first is not None and not first.ended and leg.bridged:
            _unlink(first.audio, leg.audio)
        if customer is not None and not customer.ended and first is not None and not first.ended:
            self._unhold(customer, first)
        state = "ended" if leg.bridged else "failed"
        why = leg.end_reason or reason or ("hangup" if leg.bridged else "failed")
        self._tell(leg.parent or "", leg.call_id, state, leg.agent_id,
                   first.agent_id if first else 0, why)  # fmt: skip

    # -- the bridge ---------------------------------------------------------------------------
    def _hand_over(self, customer: ActiveCall, first: ActiveCall, leg: ActiveCall) -> None:
        calls = self.worker.calls
        parties = [calls.get(p) for p in customer.party_legs]
        others = [p.audio for p in parties if p is not None and p.bridged and p.audio is not None]
        # The first agent out of everything: the colleague, the customer, the recording, parties.
        _unlink(first.audio, leg.audio)
        for other in [customer.audio, *others]:
            _unlink(first.audio, other)
        if first.audio is not None and customer.other_tap is not None:
            with contextlib.suppress(pj.Error):
                first.audio.stopTransmit(customer.other_tap)
        self._stop_music(customer)
        first.bridged, first.handed_on = False, True
        customer.owned = False  # the call is no longer the first agent's own call out
        # The colleague in, as an agent answering the call.
        leg.consult = False
        customer.consult_leg, customer.agent_leg = None, leg.call_id
        assert leg.audio is not None
        for other in [customer.audio, *others]:
            if other is not None:
                other.startTransmit(leg.audio)
                leg.audio.startTransmit(other)
        if customer.other_tap is not None:
            leg.audio.startTransmit(customer.other_tap)  # the new agent on the right channel
        customer.bridged = True
        self.worker.monitors.rewire(customer)
        log.info("call %s: handed from agent %d to agent %d", customer.call_id, first.agent_id,
                 leg.agent_id)  # fmt: skip
        call_id = customer.call_id
        self.legs.tell(call_id, first.call_id, "ended", first.agent_id, "transferred")
        self._tell(call_id, leg.call_id, "completed", leg.agent_id, first.agent_id)
        self.legs.tell(call_id, leg.call_id, "answered", leg.agent_id)

    def _hold(self, customer: ActiveCall, first: ActiveCall, music: str) -> None:
        if customer.held:  # held already: the music plays on; the agent talks again (to us)
            self.legs.tell(customer.call_id, first.call_id, "resumed", first.agent_id)
            return
        _unlink(customer.audio, first.audio)
        customer.held = True
        if customer.audio is None or not music:
            return
        try:
            player = pj.AudioMediaPlayer()
            player.createPlayer(music, 0)  # 0: loop
            player.startTransmit(customer.audio)
            customer.hold_player = player
        except pj.Error as exc:  # no music file: silence while held
            log.warning("call %s: hold music not played: %s", customer.call_id, exc.info())

    def _unhold(self, customer: ActiveCall, first: ActiveCall) -> None:
        self._stop_music(customer)
        if customer.audio is not None and first.audio is not None and first.bridged:
            customer.audio.startTransmit(first.audio)
            first.audio.startTransmit(customer.audio)

    def _stop_music(self, customer: ActiveCall) -> None:
        if customer.hold_player is not None and customer.audio is not None:
            with contextlib.suppress(pj.Error):
                customer.hold_player.stopTransmit(customer.audio)
        customer.hold_player, customer.held = None, False

    def _tell(
        self, call_id: str, leg_id: str, state: str, agent_id: int, from_agent: int,
        reason: str = "",
    ) -> None:  # fmt: skip
        self.worker.publish(ConsultLeg(call_id=call_id, leg_id=leg_id, state=state,
                                       agent_id=agent_id, from_agent=from_agent,
                                       reason=reason))  # fmt: skip


def _unlink(a: pj.AudioMedia | None, b: pj.AudioMedia | None) -> None:
    if a is None or b is None:
        return
    for src, dst in ((a, b), (b, a)):
        with contextlib.suppress(pj.Error):
            src.stopTransmit(dst)


def _hangup(call: Any) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = 200
    with contextlib.suppress(pj.Error):
        call.hangup(prm)
