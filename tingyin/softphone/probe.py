"""A headless softphone: what the desk page does, in Python (aiortc), for tests and benchmarks.

It logs in over ``/ws/softphone`` with a bearer token, sends a microphone track that plays a
given 8 kHz PCM clip when told to (silence before and after), and keeps every frame it hears
with its arrival time, so a benchmark can time a tone burst through the bridge.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler
from websockets.asyncio.client import ClientConnection, connect

from tingyin.softphone.peer import (
    FRAME_BYTES,
    RATE,
    SILENCE,
    Pacer,
    audio_frame,
    shorten_receive_buffer,
)


class ClipTrack(MediaStreamTrack):
    """A microphone: silence until ``play(pcm)``, then the clip, then silence again."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._clip = b""
        self._pacer = Pacer()
        self.clip_started_at: float | None = None  # monotonic time the clip's first frame left

    def play(self, pcm: npt.NDArray[np.int16]) -> None:
        self._clip = pcm.astype("<i2").tobytes()
        self.clip_started_at = None

    async def recv(self) -> AudioFrame:
        pts = await self._pacer.tick()
        chunk = SILENCE
        if self._clip:
            if self.clip_started_at is None:
                self.clip_started_at = time.monotonic()
            chunk, self._clip = self._clip[:FRAME_BYTES], self._clip[FRAME_BYTES:]
            chunk = chunk.ljust(FRAME_BYTES, b"\0")
        return audio_frame(chunk, pts)


class HeadlessSoftphone:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = ClipTrack()
        self.heard: list[tuple[float, bytes]] = []  # (monotonic arrival, 8 kHz PCM)
        self.states: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def connect(self, http_url: str, token: str) -> None:
        url = http_url.replace("http://", "ws://", 1) + "/ws/softphone"
        self._ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
        self.pc.addTrack(self.mic)
        # Like Chromium's receive buffer on a quiet network (~40 ms, BROWSER_AUDIO_NOTES).
        shorten_receive_buffer(self.pc)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._ws.send(json.dumps({"type": "offer", "sdp": self.pc.localDescription.sdp}))
        answer = json.loads(await self._ws.recv())
        if answer.get("type") != "answer":
            raise RuntimeError(f"softphone refused: {answer}")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        self._tasks.append(asyncio.get_running_loop().create_task(self._listen()))

    async def send(self, kind: str, **fields: Any) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps({"type": kind} | fields))

    async def wait_state(self, state: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"softphone never reached {state!r}")
            message = await asyncio.wait_for(self.states.get(), left)
            if message.get("type") == "state" and message.get("state") == state:
                return message

    def heard_pcm(self) -> npt.NDArray[np.int16]:
        return np.frombuffer(b"".join(pcm for _, pcm in self.heard), dtype="<i2")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        await self.pc.close()

    async def _listen(self) -> None:
        assert self._ws is not None
        async for text in self._ws:
            await self.states.put(json.loads(text))

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, AudioFrame):
                continue
            now = time.monotonic()
            for out in resampler.resample(frame):
                self.heard.append((now, bytes(out.planes[0])[: out.samples * 2]))
