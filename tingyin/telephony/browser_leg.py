"""A browser agent's leg: no SIP, a port on the customer's conference bridge fed over IPC.

The agent's headset talks WebRTC to the hub (``tingyin.softphone``); the hub sends the decoded
microphone audio here as 20 ms PCM frames (IPC ``P``) and takes back what the agent should
hear (IPC ``L``). In this worker the leg is an ``ActiveCall`` like a SIP agent leg, so ringing,
bridging, the recording's right channel, transfer, 3-way and hang-up all run through
``AgentLegs`` unchanged; only its "call" is a ``BrowserCall`` whose audio is a
``BrowserPort``. Ringing is the hub's business (the page rings); ``answer_browser`` answers.

``BrowserPort`` callbacks run on pjmedia's clock thread: the microphone side pops a jitter
buffer (``telephony.jitter``) filled by the IPC thread, the ear side hands each mixed frame to
the IPC queue. Both stay a few microseconds.
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.telephony.jitter import JitterBuffer
from tingyin.telephony.media import FRAME_MS, _read_vector, fast_read_works, vector_data

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import MediaWorker

log = logging.getLogger(__name__)

BROWSER_URI = "browser"  # an agent's phone_uri meaning "the softphone in the desk page"
FRAME_BYTES = 320  # 20 ms of 16-bit 8 kHz mono
SILENCE = bytes(FRAME_BYTES)


def is_browser_uri(uri: str) -> bool:
    return uri == BROWSER_URI or uri.startswith(BROWSER_URI + ":")


class BrowserPort(pj.AudioMediaPort):  # type: ignore[misc]
    """Microphone in (from the hub), ear out (to the hub), one frame per bridge tick."""

    def __init__(self, leg_id: str, send_ear: Callable[[str, bytes], None] | None) -> None:
        super().__init__()
        self.leg_id = leg_id
        self.mic = JitterBuffer(target=2)  # frames come over a local socket: little jitter
        self._send_ear = send_ear
        self._silence = pj.ByteVector(SILENCE)
        # One output vector, refilled in place: building a ByteVector from bytes costs ~10 µs a
        # frame on the clock thread, a memmove and the frame's copy ~2 µs.
        self._out = pj.ByteVector(SILENCE)
        self._out_at = vector_data(self._out) if fast_read_works() else None
        self.ear_frames = 0

    def open(self, rate: int) -> None:
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, rate, 1, FRAME_MS * 1000, 16)
        self.createPort(f"browser-{self.leg_id[:8]}", fmt)

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        pcm = self.mic.pop()
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        if pcm is None or len(pcm) != FRAME_BYTES:
            frame.buf = self._silence
            frame.size = FRAME_BYTES
            return
        if self._out_at:
            ctypes.memmove(self._out_at, pcm, FRAME_BYTES)
            frame.buf = self._out
        else:
            frame.buf = pj.ByteVector(pcm)
        frame.size = FRAME_BYTES

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        send = self._send_ear
        if send is None:
            return
        size = frame.size
        pcm = _read_vector(frame.buf, size) if size == FRAME_BYTES else SILENCE
        self.ear_frames += 1
        send(self.leg_id, pcm)

    def destroy(self) -> None:
        # As FrameTap.destroy: free the C++ port now, every transmission to it stopped first.
        pj.AudioMediaPort.__swig_destroy__(self)


class BrowserCall:
    """Stands in for the ``pj.Call`` of a SIP agent leg: what ``AgentLegs`` and the worker ask
    of a leg's call (hang up, its audio) without a SIP dialog behind it."""

    def __init__(self, worker: MediaWorker, leg_id: str) -> None:
        self.worker = worker
        self.tingyin_id = leg_id
        self.port: BrowserPort | None = None
        self.hung_up = False

    def hangup(self, prm: Any = None) -> None:
        # Ends on the next SIP loop turn, as a SIP leg's DISCONNECTED callback would arrive.
        if not self.hung_up:
            self.hung_up = True
            self.worker.submit({"command": "browser_gone", "leg_id": self.tingyin_id})

    def getAudioMedia(self, index: int) -> pj.AudioMedia:
        if self.port is None:
            raise pj.Error()
        return self.port

    def destroy(self) -> None:
        if self.port is not None:
            mic = self.port.mic.stats()
            log.info("browser leg %s: microphone %s; %d frames to the ear",
                     self.tingyin_id[:8], mic, self.port.ear_frames)  # fmt: skip
            self.port.destroy()
            self.port = None


class BrowserLegs:
    """Worker commands for browser legs; all run on the SIP loop thread."""

    def __init__(
        self, worker: MediaWorker, send_ear: Callable[[str, bytes], None] | None, rate: int
    ) -> None:
        self.worker = worker
        self._send_ear = send_ear
        self._rate = rate

    def offer(self, command: dict[str, Any]) -> None:
        """The ACD chose a browser agent: the leg rings in the page until answered."""
        from tingyin.telephony.endpoint import ActiveCall

        worker = self.worker
        customer = worker.calls.get(str(command["call_id"]))
        leg_id = str(command["leg_id"])
        agent_id = int(command.get("agent_id", 0))
        if customer is None or customer.ended or customer.agent_leg is not None:
            worker.legs.tell(str(command["call_id"]), leg_id, "failed", agent_id, "no-call")
            return
        call = BrowserCall(worker, leg_id)
        leg = ActiveCall(
            call_id=leg_id,
            call=call,  # type: ignore[arg-type]
            direction="agent",
            parent=customer.call_id,
        )
        leg.agent_id = agent_id
        leg.ring_deadline = time.monotonic() + float(command.get("ring_seconds", 15))
        with worker.lock:
            worker.calls[leg_id] = leg
        customer.agent_leg = leg_id
        customer.owned = bool(command.get("owned"))
        log.info("call %s: ringing agent %d in the browser", customer.call_id, agent_id)
        worker.legs.tell(customer.call_id, leg_id, "ringing", agent_id)
        if command.get("answer"):  # the agent's own call out: no need to ring them
            self.answer({"leg_id": leg_id})

    def answer(self, command: dict[str, Any]) -> None:
        """The agent pressed answer in the page: the port joins the bridge."""
        leg = self.worker.calls.get(str(command["leg_id"]))
        if leg is None or leg.ended or leg.answered or not isinstance(leg.call, BrowserCall):
            return
        port = BrowserPort(leg.call_id, self._send_ear)
        port.open(self._rate)
        leg.call.port = port
        leg.answered = True
        self.worker.legs.answered(leg)
        self.worker.legs.media_ready(leg, port)

    def gone(self, leg_id: str) -> None:
        leg = self.worker.calls.get(leg_id)
        if leg is None or leg.ended:
            return
        reason = leg.end_reason or ("hangup" if leg.answered else "failed-480")
        self.worker.finish(leg, reason, 0)

    def push_mic(self, leg_id: str, pcm: bytes) -> None:
        """From the IPC thread: one frame of the agent's microphone."""
        leg = self.worker.calls.get(leg_id)
        call = leg.call if leg is not None else None
        if isinstance(call, BrowserCall) and call.port is not None:
            call.port.mic.push(pcm)
        elif leg is not None and leg.relay is not None:
            leg.relay.mic.push(pcm)  # the call's mix for a supervisor's phone on this worker
        else:
            self.worker.monitors.push_mic(leg_id, pcm)  # a supervisor whispering or barging
