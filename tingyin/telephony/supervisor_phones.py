"""A supervisor's SIP phone on someone's call: dial *1 / *2 / *3 + the agent's extension.

As Asterisk's ChanSpy users expect: *1 listens, *2 whispers (to the agent only), *3 barges in;
during the call DTMF 4 / 5 / 6 switch to listen / whisper / barge. Kamailio hands the INVITE to
any media worker (round robin), while the agent's call may live on another. So this worker only
rings the phone (180) and asks the hub (``SupervisorPhone`` dialled); the hub checks who is
calling, finds the agent's call and its worker, and answers ``supervisor_accept`` or
``supervisor_reject`` (403 not allowed, 404 no such agent on a call).

- The call is on this worker (``local``): the phone's own audio joins the call's conference
  bridge as the monitor (``MonitorLegs.join`` with the phone's media): no extra hop at all.
- The call is on another worker: the phone's audio is bridged to a relay port here. Its frames
  go to the hub (IPC ``L``) and on to the call's worker as a monitor's microphone (``P``); that
  monitor's ear comes back the same way. That costs an IPC hop and a 2-frame jitter buffer each
  way (``bench/listen_in.py`` measures both paths).

Mode switches and their permissions are the hub's business: a digit is only reported. The
phone's leg has no CDR of its own (it is not a customer's call). SIP loop thread throughout.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.bus.events import SupervisorPhone
from tingyin.privacy import mask_number
from tingyin.telephony.browser_leg import BrowserPort

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import ActiveCall, MediaWorker

log = logging.getLogger(__name__)

FEATURE_CODE = re.compile(r"^\*([123])([0-9]{2,16})$")
ANSWER_WITHIN_S = 10.0  # the hub answers in milliseconds; a silent hub must not leave it ringing


def is_feature_code(dialed: str) -> bool:
    return FEATURE_CODE.match(dialed) is not None


class SupervisorPhones:
    def __init__(self, worker: MediaWorker, rate: int) -> None:
        self.worker = worker
        self._rate = rate

    def incoming(self, active: ActiveCall, caller: str, dialed: str) -> None:
        active.supervisor = True
        active.direction = "supervisor"
        active.ring_deadline = time.monotonic() + ANSWER_WITHIN_S
        log.info("leg %s: supervisor phone %s dialled a feature code",
                 active.call_id[:8], mask_number(caller))  # fmt: skip
        _respond(active.call, 180)
        self._tell(active, "dialled", caller=caller, dialed=dialed)

    def accept(self, command: dict[str, Any]) -> None:
        active = self.worker.calls.get(str(command.get("leg_id")))
        if active is None or not active.supervisor or active.ended or active.watch is not None:
            return
        active.watch = command
        active.ring_deadline = 0.0
        try:
            _respond(active.call, 200)
        except pj.Error as exc:  # the supervisor gave up in the same instant
            log.info("leg %s not answered: %s", active.call_id[:8], exc.info())

    def reject(self, command: dict[str, Any]) -> None:
        active = self.worker.calls.get(str(command.get("leg_id")))
        if active is None or not active.supervisor or active.ended:
            return
        status = int(command.get("status", 403))
        log.info("leg %s refused (%d): %s", active.call_id[:8], status, command.get("reason"))
        _hangup(active.call, status)

    def media_ready(self, active: ActiveCall, audio: pj.AudioMedia) -> None:
        watch = active.watch
        if watch is None or active.media_ready:
            return
        active.media_ready = True
        active.audio = audio
        if watch.get("local"):
            self.worker.monitors.join(
                {
                    "call_id": watch["call_id"],
                    "leg_id": watch["monitor_id"],
                    "mode": watch.get("mode", "listen"),
                },
                media=audio,
            )
            return
        relay = BrowserPort(active.call_id, self.worker.monitors.send_ear)
        relay.open(self._rate)
        audio.startTransmit(relay)  # the supervisor's voice → the hub → the call's worker
        relay.startTransmit(audio)  # the call's mix, from there, → the supervisor's ear
        active.relay = relay

    def key(self, active: ActiveCall, digit: str) -> None:
        self._tell(active, "key", digit=digit)

    def check_ringing(self, active: ActiveCall, now: float) -> None:
        if active.ring_deadline and now > active.ring_deadline and not active.ended:
            active.ring_deadline = 0.0
            log.warning("leg %s: the hub never answered; giving up", active.call_id[:8])
            _hangup(active.call, 480)

    def finished(self, active: ActiveCall) -> None:
        """The phone's leg ended: leave the call (the relay port goes in the worker's reap)."""
        watch = active.watch or {}
        if watch.get("local"):
            self.worker.monitors.leave(str(watch.get("monitor_id")), "phone-hung-up")
        relay, audio = active.relay, active.audio
        if relay is not None and audio is not None:
            for src, dst in ((audio, relay), (relay, audio)):
                with contextlib.suppress(pj.Error):
                    src.stopTransmit(dst)
        self._tell(active, "ended")

    def _tell(
        self, active: ActiveCall, state: str, caller: str = "", dialed: str = "", digit: str = ""
    ) -> None:
        index = self.worker.config.index
        self.worker.publish(
            SupervisorPhone(
                leg_id=active.call_id,
                worker=index,
                state=state,
                caller=caller,
                dialed=dialed,
                digit=digit,
            )
        )


def _respond(call: pj.Call, status: int) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = status
    call.answer(prm)


def _hangup(call: pj.Call, status: int) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = status
    with contextlib.suppress(pj.Error):
        call.hangup(prm)
