"""Ringing an agent's phone for a waiting customer, and bridging the two once it is answered.

Both legs live in the customer's worker, so they share one conference bridge (PJSUA2_NOTES):
customer ↔ agent both ways, and the agent's voice into the recording's right channel, the
customer's already in the left. The agent leg is not a call of its own in the CDR: its life is
told as ``AgentLeg`` events on the customer's call. Runs on the worker's SIP loop thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.bus.events import AgentLeg, PartyLeg
from tingyin.privacy import mask_number, number_from_uri
from tingyin.telephony.consult_legs import ConsultLegs

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import ActiveCall, MediaWorker

log = logging.getLogger(__name__)


class AgentLegs:
    def __init__(self, worker: MediaWorker) -> None:
        self.worker = worker
        self.consults = ConsultLegs(worker, self)

    def offer(self, command: dict[str, Any]) -> None:
        """Ring ``uri`` for the customer's call ``call_id`` (the hub's ACD chose the agent)."""
        from tingyin.telephony.endpoint import ActiveCall, WorkerCall

        worker = self.worker
        customer = worker.calls.get(str(command["call_id"]))
        leg_id, uri = str(command["leg_id"]), str(command["uri"])
        agent_id = int(command.get("agent_id", 0))
        if customer is None or customer.ended or customer.agent_leg is not None:
            self.tell(str(command["call_id"]), leg_id, "failed", agent_id, "no-call")
            return
        account = worker.outbound_account(str(command.get("caller", "")))
        call = WorkerCall(worker, account, pj.PJSUA_INVALID_ID, leg_id)
        leg = ActiveCall(call_id=leg_id, call=call, direction="agent", parent=customer.call_id)
        leg.agent_id = agent_id
        leg.ring_deadline = time.monotonic() + float(command.get("ring_seconds", 15))
        with worker.lock:
            worker.calls[leg_id] = leg
        customer.agent_leg = leg_id
        customer.owned = bool(command.get("owned"))
        log.info("call %s: ringing agent %d at %s", customer.call_id, agent_id,
                 mask_number(number_from_uri(uri)))  # fmt: skip
        self.tell(customer.call_id, leg_id, "ringing", agent_id)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:  # no free line in this worker, a bad URI
            log.warning("call %s: agent leg not placed: %s", customer.call_id, exc.info())
            leg.end_reason = "no-line"
            worker.finish(leg, "no-line", 0)

    def add_party(self, command: dict[str, Any]) -> None:
        """Ring a third party (merchant, rider) into the customer's call: a 3-way call once the
        customer talks to an agent (or with the customer alone before)."""
        from tingyin.telephony.endpoint import ActiveCall, WorkerCall

        worker = self.worker
        customer = worker.calls.get(str(command["call_id"]))
        leg_id, uri = str(command["leg_id"]), str(command["uri"])
        number = mask_number(number_from_uri(uri))
        if customer is None or customer.ended:
            self._tell_party(str(command["call_id"]), leg_id, "failed", number, "no-call")
            return
        account = worker.outbound_account(str(command.get("caller", "")))
        call = WorkerCall(worker, account, pj.PJSUA_INVALID_ID, leg_id)
        leg = ActiveCall(call_id=leg_id, call=call, direction="party", parent=customer.call_id)
        leg.party = True
        leg.ring_deadline = time.monotonic() + float(command.get("ring_seconds", 30))
        with worker.lock:
            worker.calls[leg_id] = leg
        customer.party_legs.append(leg_id)
        self._tell_party(customer.call_id, leg_id, "ringing", number)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:
            log.warning("call %s: third party not placed: %s", customer.call_id, exc.info())
            leg.end_reason = "no-line"
            worker.finish(leg, "no-line", 0)

    def drop(self, call_id: str, leg_id: str = "") -> None:
        """Stop ringing (or end) the agent leg of a customer's call, or the agent's leg named
        (a colleague consulted hangs up their own leg, not the customer's agent's)."""
        leg = self.worker.calls.get(leg_id)
        if leg is None or leg.parent != call_id or leg.party:
            customer = self.worker.calls.get(call_id)
            leg = self.worker.calls.get(customer.agent_leg or "") if customer else None
        if leg is not None and not leg.ended:
            _hangup(leg.call)

    def release(self, call_id: str) -> None:
        """Let the agent go but keep the customer (a transfer): the leg ends, the call stays."""
        customer = self.worker.calls.get(call_id)
        leg = self.worker.calls.get(customer.agent_leg or "") if customer else None
        if customer is None or leg is None or leg.ended or customer.consult_leg is not None:
            return  # (consulting: complete or cancel that first)
        self._unbridge(customer, leg)
        leg.bridged = False  # unbridged now: its end must not touch the bridge again
        leg.end_reason = "transferred"
        customer.owned = False  # handed on: no longer the agent's own call out
        _hangup(leg.call)

    def transfer_out(self, command: dict[str, Any]) -> None:
        """Blind transfer to an outside number: ring it as a third party, let the agent go;
        the customer holds (music) until it answers, and the call ends when it hangs up."""
        customer = self.worker.calls.get(str(command["call_id"]))
        if customer is None or customer.ended or customer.consult_leg is not None:
            number = mask_number(number_from_uri(str(command.get("uri", ""))))
            self._tell_party(str(command["call_id"]), str(command["leg_id"]), "failed", number,
                             "no-call")  # fmt: skip
            return
        self.add_party(command)
        leg = self.worker.calls.get(str(command["leg_id"]))
        if leg is None or leg.ended:  # not placed: the customer stays with the agent
            return
        leg.outside = True
        self.release(customer.call_id)
        if customer.audio is not None and command.get("music") and not customer.held:
            try:
                player = pj.AudioMediaPlayer()
                player.createPlayer(str(command["music"]), 0)  # 0: loop
                player.startTransmit(customer.audio)
                customer.hold_player, customer.held = player, True
            except pj.Error as exc:
                log.warning("call %s: hold music not played: %s", customer.call_id, exc.info())

    def hold(self, command: dict[str, Any]) -> None:
        """The agent holds the customer: the customer hears music (looped ``music`` file), the
        agent nothing; off again, they talk. The recording keeps running (one file)."""
        customer = self.worker.calls.get(str(command.get("call_id")))
        leg = self.worker.calls.get(customer.agent_leg or "") if customer else None
        if customer is None or leg is None or not leg.bridged:
            return
        if customer.audio is None or leg.audio is None or customer.consult_leg is not None:
            return  # consulting: the customer holds until the consult is done
        if command.get("on") and not customer.held:
            for src, dst in ((customer.audio, leg.audio), (leg.audio, customer.audio)):
                with contextlib.suppress(pj.Error):
                    src.stopTransmit(dst)
            customer.held = True
            try:
                player = pj.AudioMediaPlayer()
                player.createPlayer(str(command.get("music", "")), 0)  # 0: loop
                player.startTransmit(customer.audio)
                customer.hold_player = player
            except pj.Error as exc:  # no music file: silence on hold, still held
                log.warning("call %s: hold music not played: %s", customer.call_id, exc.info())
            self.tell(customer.call_id, leg.call_id, "held", leg.agent_id)
        elif not command.get("on") and customer.held:
            if customer.hold_player is not None:
                with contextlib.suppress(pj.Error):
                    customer.hold_player.stopTransmit(customer.audio)
            customer.hold_player, customer.held = None, False
            customer.audio.startTransmit(leg.audio)
            leg.audio.startTransmit(customer.audio)
            self.tell(customer.call_id, leg.call_id, "resumed", leg.agent_id)

    def dtmf(self, command: dict[str, Any]) -> None:
        """Keys from the agent's keypad, sent on to the customer's side (an outside IVR)."""
        customer = self.worker.calls.get(str(command.get("call_id")))
        digits = "".join(d for d in str(command.get("digits", "")) if d in "0123456789*#")
        if customer is None or customer.ended or not digits:
            return
        try:
            customer.call.dialDtmf(digits)
        except pj.Error as exc:
            log.warning("call %s: DTMF not sent: %s", customer.call_id, exc.info())

    def answered(self, leg: ActiveCall) -> None:
        leg.ring_deadline = 0.0
        self._maybe_bridge(leg)

    def customer_ready(self, customer: ActiveCall) -> None:
        """The customer's media is up after the agent's leg was placed (an agent's own call
        out: both ring at once, whoever answers last completes the bridge)."""
        leg = self.worker.calls.get(customer.agent_leg or "")
        if leg is not None and not leg.ended:
            self._maybe_bridge(leg)

    def media_ready(self, leg: ActiveCall, audio: pj.AudioMedia) -> None:
        leg.media_ready = True
        leg.audio = audio
        self._maybe_bridge(leg)

    def check_ringing(self, leg: ActiveCall, now: float) -> None:
        if leg.ring_deadline and now >= leg.ring_deadline and not leg.ended:
            leg.ring_deadline = 0.0
            leg.end_reason = "no-answer"
            _hangup(leg.call)

    def leg_finished(self, leg: ActiveCall, reason: str) -> None:
        """The agent leg is over: unbridge; a bridged call ends with it, an unanswered one waits
        for the next agent. A third party leaving changes nothing for the others."""
        if leg.consult:
            self.consults.finished(leg, reason)
            return
        if leg.handed_on:  # an attended transfer replaced it and told its end already
            return
        customer = self.worker.calls.get(leg.parent or "")
        # Once the customer's call has ended its media is gone: touching its bridge port then
        # aborts pjmedia (op_disconnect_ports). Its own finish already took the bridge down.
        live = customer is not None and not customer.ended
        if leg.party:
            if customer is not None:
                if live:
                    self._unjoin(customer, leg)
                if leg.call_id in customer.party_legs:
                    customer.party_legs.remove(leg.call_id)
                if live:
                    self.worker.monitors.rewire(customer)
            state = "ended" if leg.bridged else "failed"
            why = leg.end_reason or reason or ("hangup" if leg.bridged else "failed")
            self._tell_party(leg.parent or "", leg.call_id, state, "", why)
            if leg.outside and live and customer is not None:  # the customer was handed to them
                _hangup(customer.call)
            return
        consulting = live and customer is not None and customer.consult_leg is not None
        if consulting and customer is not None and self.consults.take_over(customer, leg):
            return  # hung up on an answered colleague: they have the customer now
        bridged = leg.bridged
        if customer is not None:
            if live:
                self._unbridge(customer, leg)
            if customer.agent_leg == leg.call_id:
                customer.agent_leg = None
            if live:
                self.worker.monitors.rewire(customer)  # supervisors stop hearing the agent gone
        bridged = bridged or leg.end_reason == "transferred"  # unbridged just before it ended
        state = "ended" if bridged else "failed"
        why = leg.end_reason or (("agent-hangup" if bridged else reason) or "failed")
        self.tell(leg.parent or "", leg.call_id, state, leg.agent_id, why)
        transferred = leg.end_reason == "transferred"
        ends_call = (bridged and not transferred) or (customer is not None and customer.owned)
        if ends_call and customer is not None and not customer.ended:
            _hangup(customer.call)

    def customer_finished(self, customer: ActiveCall) -> None:
        consult = self.worker.calls.get(customer.consult_leg or "")
        if consult is not None and not consult.ended:
            consult.end_reason = "customer-hangup"
            _hangup(consult.call)
        for party_id in list(customer.party_legs):
            party = self.worker.calls.get(party_id)
            if party is not None and not party.ended:
                self._unjoin(customer, party)
                party.end_reason = "customer-hangup"
                _hangup(party.call)
        leg = self.worker.calls.get(customer.agent_leg or "")
        if leg is not None and not leg.ended:
            self._unbridge(customer, leg)
            leg.end_reason = "customer-hangup"
            _hangup(leg.call)

    # -- the bridge -------------------------------------------------------------------------
    def _maybe_bridge(self, leg: ActiveCall) -> None:
        customer = self.worker.calls.get(leg.parent or "")
        if leg.consult:
            self.consults.connect(leg)
            return
        if customer is None or customer.ended or leg.bridged:
            return
        if not (leg.answered and leg.audio is not None and customer.audio is not None):
            return
        if leg.party:
            self._join(customer, leg)
            return
        self.worker.stop_prompt(customer, interrupted=True)  # the hold music stops
        customer.audio.startTransmit(leg.audio)
        leg.audio.startTransmit(customer.audio)
        for party_id in customer.party_legs:  # parties already on (rare): they hear the agent
            party = self.worker.calls.get(party_id)
            if party is not None and party.bridged and party.audio is not None:
                party.audio.startTransmit(leg.audio)
                leg.audio.startTransmit(party.audio)
        if customer.other_tap is not None:
            leg.audio.startTransmit(customer.other_tap)  # the agent on the right channel
        leg.bridged = customer.bridged = True
        self.worker.monitors.rewire(customer)  # supervisors on the call hear the new agent
        self.tell(customer.call_id, leg.call_id, "answered", leg.agent_id)

    def _others(self, customer: ActiveCall, leg: ActiveCall) -> list[pj.AudioMedia]:
        """Everyone on the call a third party talks with: the customer, the agent, other parties."""
        ids = [customer.agent_leg or "", *customer.party_legs]
        legs = [self.worker.calls.get(i) for i in ids if i != leg.call_id]
        audio = [other.audio for other in legs if other is not None and other.bridged]
        return [a for a in (customer.audio, *audio) if a is not None]

    def _join(self, customer: ActiveCall, leg: ActiveCall) -> None:
        assert leg.audio is not None
        if leg.outside and customer.hold_player is not None and customer.audio is not None:
            with contextlib.suppress(pj.Error):  # the music while it rang stops
                customer.hold_player.stopTransmit(customer.audio)
            customer.hold_player, customer.held = None, False
        for other in self._others(customer, leg):
            other.startTransmit(leg.audio)
            leg.audio.startTransmit(other)
        if customer.other_tap is not None:
            leg.audio.startTransmit(customer.other_tap)  # recorded with our side, on the right
        leg.bridged = True
        self.worker.monitors.rewire(customer)
        self._tell_party(customer.call_id, leg.call_id, "answered", "")

    def _unjoin(self, customer: ActiveCall, leg: ActiveCall) -> None:
        if not leg.bridged or leg.audio is None:
            return
        for other in [*self._others(customer, leg), customer.other_tap]:
            if other is None:
                continue
            with contextlib.suppress(pj.Error):
                other.stopTransmit(leg.audio)
            with contextlib.suppress(pj.Error):
                leg.audio.stopTransmit(other)

    def _tell_party(
        self, call_id: str, leg_id: str, state: str, number: str, reason: str = ""
    ) -> None:
        self.worker.publish(
            PartyLeg(call_id=call_id, leg_id=leg_id, state=state, number=number, reason=reason)
        )

    def _unbridge(self, customer: ActiveCall, leg: ActiveCall) -> None:
        if not leg.bridged or leg.audio is None:
            return
        if customer.hold_player is not None and customer.audio is not None:
            with contextlib.suppress(pj.Error):
                customer.hold_player.stopTransmit(customer.audio)
        customer.hold_player, customer.held = None, False
        pairs = [(customer.audio, leg.audio), (leg.audio, customer.audio),
                 (leg.audio, customer.other_tap)]  # fmt: skip
        for src, dst in pairs:
            if src is not None and dst is not None:
                with contextlib.suppress(pj.Error):
                    src.stopTransmit(dst)
        customer.bridged = False

    def tell(self, call_id: str, leg_id: str, state: str, agent_id: int, reason: str = "") -> None:
        self.worker.publish(
            AgentLeg(call_id=call_id, leg_id=leg_id, state=state, agent_id=agent_id, reason=reason)
        )


def _hangup(call: pj.Call) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = 200
    with contextlib.suppress(pj.Error):
        call.hangup(prm)
