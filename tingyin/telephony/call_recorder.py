"""Pairs the frames of two taps into one stereo recording (caller left, other side right)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from tingyin.telephony.recording import StereoWavWriter

# If one channel runs this many frames ahead, the other is padded with silence rather than
# letting the channels drift apart (a port added late, a missed tick).
MAX_SKEW_FRAMES = 10

# Receives each batch of paired frames as written: (offset in samples into the recording,
# caller PCM, other side PCM), equal lengths.
AudioSink = Callable[[int, bytes, bytes], None]


class CallRecorder:
    def __init__(
        self,
        path: Path,
        left: deque[bytes | None],
        right: deque[bytes | None],
        rate: int = 8000,
        frame_ms: int = 20,
    ) -> None:
        self.path = path
        self._left = left
        self._right = right
        self._silence = bytes(rate * frame_ms // 1000 * 2)
        self._writer = StereoWavWriter(path, rate)
        self._ticks_since_flush = 0
        # The writer thread pumps while the SIP thread may close (call ended): one at a time.
        self._lock = threading.Lock()
        self._closed = False

    @property
    def seconds(self) -> float:
        return self._writer.seconds

    def pump(self, final: bool = False, sink: AudioSink | None = None) -> None:
        """Move the frames both channels have into the file, and to ``sink`` if given."""
        with self._lock:
            if not self._closed:
                self._pump(final, sink)

    def _pump(self, final: bool, sink: AudioSink | None) -> None:
        left_out: list[bytes] = []
        right_out: list[bytes] = []
        while True:
            n_left, n_right = len(self._left), len(self._right)
            if n_left and n_right:
                pass
            elif (n_left > MAX_SKEW_FRAMES and not n_right) or (final and n_left):
                self._right.append(None)
            elif (n_right > MAX_SKEW_FRAMES and not n_left) or (final and n_right):
                self._left.append(None)
            else:
                break
            left_out.append(self._fit(self._left.popleft()))
            right_out.append(self._fit(self._right.popleft()))
        if left_out:
            left, right = b"".join(left_out), b"".join(right_out)
            offset = self._writer.frames
            self._writer.write(left, right)
            self._ticks_since_flush += len(left_out)
            if sink is not None:
                sink(offset, left, right)
        if self._ticks_since_flush >= 50 or final:
            self._writer.flush()
            self._ticks_since_flush = 0

    def _fit(self, frame: bytes | None) -> bytes:
        if not frame:
            return self._silence
        if len(frame) == len(self._silence):
            return frame
        return (frame + self._silence)[: len(self._silence)]

    def close(self, sink: AudioSink | None = None) -> None:
        """Write what is left (to ``sink`` too, so a stream ends where the file ends)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._pump(final=True, sink=sink)
            finally:
                self._writer.close()
