"""A jitter buffer for 20 ms PCM frames crossing between two clocks (browser ↔ pjmedia).

Frames arrive in bursts (network, event loop, IPC) but are played on a steady clock that is not
the sender's: the buffer waits until ``target`` frames are queued before it plays, plays one
frame per tick, and when it runs dry it plays silence and primes again (an underrun). When the
queue stays above ``target + slack`` for ``trim_after`` ticks (the sender's clock runs fast, or
a stalled sender caught up in one burst) the oldest frames down to ``target + slack`` are
dropped at once (a trim: one short glitch), so the added delay returns near ``target × 20 ms``
instead of growing for the length of the call. A burst beyond ``max_frames`` drops the oldest
frames (an overflow).

Sans-I/O: ``push`` from the receiving thread, ``pop`` from the playing clock; a deque's append
and popleft are atomic under the GIL, and the counters are only statistics.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class JitterStats:
    pushed: int
    played: int
    underruns: int
    overflows: int
    trimmed: int
    depth: int


class JitterBuffer:
    def __init__(
        self, target: int = 3, max_frames: int = 25, slack: int = 2, trim_after: int = 50
    ) -> None:
        if not 1 <= target < max_frames:
            raise ValueError("need 1 <= target < max_frames")
        self.target = target
        self.slack = slack
        self.trim_after = trim_after
        self._frames: deque[bytes] = deque(maxlen=max_frames)
        self._playing = False
        self._high_ticks = 0
        self.pushed = self.played = self.underruns = self.overflows = self.trimmed = 0

    def push(self, frame: bytes) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.overflows += 1
        self._frames.append(frame)
        self.pushed += 1

    def pop(self) -> bytes | None:
        """The frame to play now, or None for silence (priming, or run dry)."""
        frames = self._frames
        if not self._playing:
            if len(frames) < self.target:
                return None
            self._playing = True
        if not frames:
            self._playing = False
            self.underruns += 1
            return None
        if len(frames) > self.target + self.slack:
            self._high_ticks += 1
            if self._high_ticks >= self.trim_after:
                self._high_ticks = 0
                while len(frames) > self.target + self.slack:
                    frames.popleft()
                    self.trimmed += 1
        else:
            self._high_ticks = 0
        if not frames:  # the trim took the last one (target + slack < 1 cannot happen)
            return None
        self.played += 1
        return frames.popleft()

    def clear(self) -> None:
        self._frames.clear()
        self._playing = False

    @property
    def depth(self) -> int:
        return len(self._frames)

    def stats(self) -> JitterStats:
        return JitterStats(
            self.pushed, self.played, self.underruns, self.overflows, self.trimmed, self.depth
        )
