"""A supervisor on a call from the browser: listen, whisper (to the agent only) or barge in.

The supervisor's headset reaches this worker like a browser agent's (``browser_leg``): a port on
the customer's conference bridge, microphone frames in over IPC, the port's mix back out. What
the port is connected to is the mode:

- listen: customer and agent (and any third party) → port; the port says nothing;
- whisper: also port → agent, and into the recording's right channel (our side);
- barge: also port → customer.

A supervisor's SIP phone on the call's own worker (``supervisor_phones``) joins the same way
with its call's media in place of the port.

Listening only adds a sink to the bridge: the agent's and customer's paths and the recording
are untouched. Modes switch on the fly; when the agent changes (a transfer) the port is
rewired to the new agent (``rewire``). All of this runs on the SIP loop thread.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.bus.events import MonitorLeg
from tingyin.telephony.browser_leg import BrowserPort

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import ActiveCall, MediaWorker

log = logging.getLogger(__name__)

MODES = ("listen", "whisper", "barge")


@dataclass
class Monitor:
    monitor_id: str
    call_id: str
    media: pj.AudioMedia  # what is wired to the bridge: the port, or a SIP phone's audio
    port: BrowserPort | None  # the browser's port (ours to destroy); None for a SIP phone
    mode: str
    links: list[tuple[pj.AudioMedia, pj.AudioMedia]]


class MonitorLegs:
    def __init__(
        self, worker: MediaWorker, send_ear: Callable[[str, bytes], None] | None, rate: int
    ) -> None:
        self.worker = worker
        self.send_ear = send_ear
        self._rate = rate
        self.monitors: dict[str, Monitor] = {}

    def join(self, command: dict[str, Any], media: pj.AudioMedia | None = None) -> None:
        """A supervisor joins: a browser (a port fed over IPC) or a SIP phone here (``media``)."""
        call_id, monitor_id = str(command["call_id"]), str(command["leg_id"])
        mode = str(command.get("mode", "listen"))
        customer = self.worker.calls.get(call_id)
        if customer is None or customer.ended or customer.audio is None or mode not in MODES:
            self._tell(call_id, monitor_id, "failed", mode, "no-call")
            return
        if monitor_id in self.monitors:
            return
        port: BrowserPort | None = None
        if media is None:
            port = BrowserPort(monitor_id, self.send_ear)
            port.open(self._rate)
            media = port
        monitor = Monitor(monitor_id, call_id, media, port, mode, [])
        self.monitors[monitor_id] = monitor
        self._wire(monitor, customer)
        log.info("call %s: a supervisor joins (%s)", call_id, mode)
        self._tell(call_id, monitor_id, "joined", mode)

    def switch(self, command: dict[str, Any]) -> None:
        monitor = self.monitors.get(str(command["leg_id"]))
        mode = str(command.get("mode", ""))
        customer = self.worker.calls.get(monitor.call_id) if monitor else None
        if monitor is None or customer is None or mode not in MODES or mode == monitor.mode:
            return
        monitor.mode = mode
        self._wire(monitor, customer)
        self._tell(monitor.call_id, monitor.monitor_id, "mode", mode)

    def leave(self, monitor_id: str, reason: str = "left") -> None:
        monitor = self.monitors.pop(monitor_id, None)
        if monitor is None:
            return
        self._unwire(monitor)
        if monitor.port is not None:
            monitor.port.destroy()  # every transmission to and from it stopped just above
        self._tell(monitor.call_id, monitor_id, "left", monitor.mode, reason)

    def push_mic(self, monitor_id: str, pcm: bytes) -> bool:
        monitor = self.monitors.get(monitor_id)
        if monitor is None or monitor.port is None:
            return False
        monitor.port.mic.push(pcm)
        return True

    def rewire(self, customer: ActiveCall) -> None:
        """The agent on the call changed (answered, transferred): follow them."""
        if customer.ended:  # its media is gone; call_finished took the monitors off
            return
        for monitor in self.monitors.values():
            if monitor.call_id == customer.call_id:
                self._wire(monitor, customer)

    def call_finished(self, customer: ActiveCall) -> None:
        for monitor in [m for m in self.monitors.values() if m.call_id == customer.call_id]:
            self.leave(monitor.monitor_id, "call-ended")

    # -- the bridge -------------------------------------------------------------------------
    def _wire(self, monitor: Monitor, customer: ActiveCall) -> None:
        self._unwire(monitor)
        port, ours = monitor.media, self._ours(customer)
        links: list[tuple[pj.AudioMedia, pj.AudioMedia]] = []
        if customer.audio is not None:
            links.append((customer.audio, port))
        links += [(audio, port) for audio in ours]
        if monitor.mode in ("whisper", "barge"):
            links += [(port, audio) for audio in ours]
            if customer.other_tap is not None:
                links.append((port, customer.other_tap))  # the recording hears the whisper
        if monitor.mode == "barge" and customer.audio is not None:
            links.append((port, customer.audio))
        for src, dst in links:
            src.startTransmit(dst)
        monitor.links = links

    def _unwire(self, monitor: Monitor) -> None:
        for src, dst in monitor.links:
            with contextlib.suppress(pj.Error):
                src.stopTransmit(dst)
        monitor.links = []

    def _ours(self, customer: ActiveCall) -> list[pj.AudioMedia]:
        """Our side of the call now: the bridged agent and any third parties."""
        calls = self.worker.calls
        legs = [calls.get(i) for i in (customer.agent_leg or "", *customer.party_legs)]
        return [leg.audio for leg in legs if leg is not None and leg.bridged and leg.audio]

    def _tell(self, call_id: str, monitor_id: str, state: str, mode: str, reason: str = "") -> None:
        self.worker.publish(MonitorLeg(call_id=call_id, leg_id=monitor_id, state=state,
                                       mode=mode, reason=reason))  # fmt: skip
