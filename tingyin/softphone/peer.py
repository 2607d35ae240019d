"""One agent's WebRTC connection (aiortc): the headset's microphone in, the call's audio out.

The call side speaks 20 ms frames of 16-bit 8 kHz mono PCM. Inbound, aiortc's decoder gives
frames of its codec's rate (PCMU: 8 kHz mono; Opus: 48 kHz stereo); an ``av`` resampler brings
them to 8 kHz mono and they are cut into 20 ms frames for ``on_mic``. Outbound, ``EarTrack``
plays frames pushed into its jitter buffer on its own 20 ms clock (silence when there are
none), stamped with a steady timestamp so the browser's own jitter buffer sees a clean stream.

aiortc contacts a public STUN server by default: never here (no ICE servers), and the hub's
candidates can be pinned to configured addresses (``softphone.ice_addresses``), loopback
included, which aioice would otherwise skip.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable

import aioice.ice
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterBuffer as RtpJitterBuffer
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler

from tingyin.telephony.jitter import JitterBuffer

log = logging.getLogger(__name__)

RATE = 8000
FRAME_SAMPLES = 160
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE = bytes(FRAME_BYTES)
TIME_BASE = fractions.Fraction(1, RATE)
# aiortc holds 4 audio packets (80 ms) before it decodes the first; on a call-center LAN 2 are
# plenty, and each one saved is 20 ms off the agent's mouth-to-ear delay (bench/softphone.py).
RECEIVE_PREFETCH = 2


def shorten_receive_buffer(pc: RTCPeerConnection, prefetch: int = RECEIVE_PREFETCH) -> None:
    """Set aiortc's audio receive jitter buffer to ``prefetch`` packets. aiortc has no option
    for it: the private attribute is replaced when it exists, else the default stays."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        name = "_RTCRtpReceiver__jitter_buffer"
        if transceiver.kind == "audio" and isinstance(
            getattr(receiver, name, None), RtpJitterBuffer
        ):
            setattr(receiver, name, RtpJitterBuffer(capacity=16, prefetch=prefetch))


def pin_host_addresses(addresses: list[str]) -> None:
    """Offer browsers only these addresses of the hub (aioice has no option for it)."""
    if not addresses:
        return
    pinned = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in pinned if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


class Pacer:
    """20 ms ticks on the monotonic clock, and the timestamp of each frame: a track's ``recv``
    awaits ``tick()`` so frames leave at the real-time rate, not as fast as they are asked."""

    def __init__(self) -> None:
        self._start: float | None = None
        self.pts = 0

    async def tick(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self.pts += FRAME_SAMPLES
            wait = self._start + self.pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return self.pts


def audio_frame(pcm: bytes, pts: int) -> AudioFrame:
    """One 20 ms frame of 16-bit 8 kHz mono for aiortc's encoder."""
    frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
    frame.planes[0].update(pcm)
    frame.sample_rate = RATE
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


class EarTrack(MediaStreamTrack):
    """What the agent hears: frames from the call, paced at 20 ms."""

    kind = "audio"

    def __init__(self, jitter_frames: int = 2) -> None:
        super().__init__()
        self.buffer = JitterBuffer(target=jitter_frames)
        self._pacer = Pacer()

    def push(self, pcm: bytes) -> None:
        self.buffer.push(pcm)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pacer.tick()
        return audio_frame(self.buffer.pop() or SILENCE, pts)


class SoftphonePeer:
    def __init__(
        self, on_mic: Callable[[bytes], None], *, codec: str = "PCMU", jitter_frames: int = 2
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.ear = EarTrack(jitter_frames)
        self.codec = codec
        self._on_mic = on_mic
        self._reader: asyncio.Task[None] | None = None
        self.mic_frames = 0
        self.closed = asyncio.Event()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def accept(self, offer_sdp: str) -> str:
        """The browser's offer in, our answer (with every candidate gathered) out."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        shorten_receive_buffer(self.pc)
        self.pc.addTrack(self.ear)
        wanted = f"audio/{self.codec}".lower()
        codecs = RTCRtpSender.getCapabilities("audio").codecs
        preferred = [c for c in codecs if c.mimeType.lower() == wanted]
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio" and preferred:
                transceiver.setCodecPreferences(preferred)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self.ear.stop()
        await self.pc.close()
        self.closed.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read(track))

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        log.info("softphone connection %s", state)
        if state in ("failed", "closed"):
            self.closed.set()

    async def _read(self, track: MediaStreamTrack) -> None:
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = b""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, AudioFrame):
                continue
            for out in resampler.resample(frame):
                pending += bytes(out.planes[0])[: out.samples * 2]
            while len(pending) >= FRAME_BYTES:
                chunk, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
                self.mic_frames += 1
                try:
                    self._on_mic(chunk)
                except Exception:  # one bad frame must not end the agent's microphone
                    log.exception("microphone frame not delivered")
