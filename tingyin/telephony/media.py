"""Per-leg media taps: 20 ms PCM frames out of the conference bridge into bounded queues.

``onFrameReceived`` runs on pjmedia's clock thread holding the GIL, for every port on the
bridge: it must stay a few microseconds. It copies the frame (through the vector's data pointer:
``bytes(ByteVector)`` costs ~100× more), appends to a deque that drops the oldest frame when
full, counts, and returns. Consumers (the recorder now, ASR later) drain the deque elsewhere.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque

import pjsua2 as pj

from tingyin.bus.events import LegStats

FRAME_MS = 20
LATE_GAP_MS = 40.0  # a callback this long after the previous one means the clock stalled


def vector_data(vec: pj.ByteVector) -> int | None:
    """The address of a ByteVector's bytes: std::vector<unsigned char> starts with its data
    pointer (libstdc++ layout); checked by fast_read_works() before the fast path is trusted."""
    return ctypes.c_void_p.from_address(int(vec.this)).value


def _read_vector(vec: pj.ByteVector, size: int) -> bytes:
    pointer = vector_data(vec)
    return ctypes.string_at(pointer, size) if pointer else b""


def fast_read_works() -> bool:
    probe = bytes(range(256)) * 2
    return _read_vector(pj.ByteVector(probe), len(probe)) == probe


class FrameTap(pj.AudioMediaPort):  # type: ignore[misc]
    """A sink port on the bridge; whatever is transmitted to it lands in ``frames``."""

    def __init__(self, leg: str, max_frames: int = 250, fast_read: bool = True) -> None:
        super().__init__()
        self.leg = leg
        self.frames: deque[bytes | None] = deque(maxlen=max_frames)
        self._fast = fast_read
        self.count = 0
        self.empty = 0
        self.dropped = 0
        self.late = 0
        self.max_gap_ms = 0.0
        self._last = 0.0

    def open(self, rate: int, name: str) -> None:
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, rate, 1, FRAME_MS * 1000, 16)
        self.createPort(name, fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        now = time.monotonic()
        if self._last:
            gap = (now - self._last) * 1000.0
            if gap > self.max_gap_ms:
                self.max_gap_ms = gap
            if gap > LATE_GAP_MS:
                self.late += 1
        self._last = now
        size = frame.size
        if size:
            data = _read_vector(frame.buf, size) if self._fast else bytes(frame.buf)[:size]
            self.count += 1
        else:
            data = None  # heartbeat: nobody transmitted to this port in this tick
            self.empty += 1
        if len(self.frames) == self.frames.maxlen:
            self.dropped += 1
        self.frames.append(data)

    def stats(self) -> LegStats:
        return LegStats(
            leg=self.leg,
            frames=self.count,
            empty_frames=self.empty,
            dropped_frames=self.dropped,
            late_frames=self.late,
            max_gap_ms=round(self.max_gap_ms, 1),
        )

    def destroy(self) -> None:
        # Free the C++ port now, before Python's GC could race the clock thread (PJSUA2_NOTES,
        # crash 1). The caller must have stopped every transmission to it first.
        pj.AudioMediaPort.__swig_destroy__(self)
