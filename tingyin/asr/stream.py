"""One leg's live transcription: audio with its place in the call in, transcript events out.

Frames arrive as ``(offset, pcm)``: ``offset`` is the sample at which ``pcm`` starts in the call's
recording, so word times land on the recording's time line and gaps are seen, not guessed. A gap
is filled with silence (the recogniser's clock stays linear; the leg is flagged incomplete), an
overlap is trimmed. Our own energy endpointer forces the final result after ``silence_ms`` of
quiet following speech: Vosk's built-in one takes about a second (VOSK_NOTES.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import numpy as np

from tingyin.bus.events import Event, TranscriptFinal, TranscriptPartial, Word

FRAME_MS = 20
MAX_FILL_SECONDS = 5.0  # a longer gap re-anchors the clock instead of feeding silence
SPEECH_FLOOR_DB = -45.0  # quieter than this is never speech
SPEECH_ABOVE_NOISE_DB = 9.0


class RecognizerLike(Protocol):
    rate: int
    fed_samples: int

    def accept(self, pcm: bytes) -> bool: ...
    def partial(self) -> dict[str, Any]: ...
    def result(self) -> dict[str, Any]: ...
    def final(self) -> dict[str, Any]: ...


@dataclass
class LegReport:
    """What a leg's transcriber saw: enough for the hub to call the transcript complete."""

    fed_samples: int = 0
    gaps: int = 0
    gap_samples: int = 0
    overlaps: int = 0
    finals: int = 0
    forced_finals: int = 0


class Endpointer:
    """Speech/silence per 20 ms frame against a slowly adapting noise floor."""

    def __init__(self, rate: int, silence_ms: int) -> None:
        self._frame = rate * FRAME_MS // 1000
        self._needed = max(1, silence_ms // FRAME_MS)
        self._floor_db = -60.0
        self._quiet = 0
        self.in_speech = False

    def push(self, pcm: bytes) -> bool:
        """Feed audio; True when an utterance has just ended (enough silence after speech)."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        ended = False
        for start in range(0, len(samples) - self._frame + 1, self._frame):
            frame = samples[start : start + self._frame]
            rms = math.sqrt(float(np.mean(frame * frame))) + 1e-9
            db = 20.0 * math.log10(rms / 32768.0)
            if db < self._floor_db:
                self._floor_db = db
            else:
                self._floor_db += 0.002 * (db - self._floor_db)
            if db > max(SPEECH_FLOOR_DB, self._floor_db + SPEECH_ABOVE_NOISE_DB):
                self.in_speech = True
                self._quiet = 0
            elif self.in_speech:
                self._quiet += 1
                if self._quiet >= self._needed:
                    self.in_speech = False
                    self._quiet = 0
                    ended = True
        return ended


class LegTranscriber:
    def __init__(
        self,
        call_id: str,
        leg: str,
        recognizer: RecognizerLike,
        emit: Callable[[Event], None],
        *,
        silence_ms: int = 300,
        source: str = "live",
        dump: BinaryIO | None = None,
    ) -> None:
        self.call_id = call_id
        self.leg = leg
        self.source = source
        self._rec = recognizer
        self._emit = emit
        self._rate = recognizer.rate
        self._endpointer = Endpointer(self._rate, silence_ms)
        self._dump = dump
        self._next: int | None = None  # the call sample we expect next
        # (call sample, recogniser sample) at the last anchor: maps Vosk's times onto the call.
        self._anchor = (0, recognizer.fed_samples)
        self._last_partial = ""
        self.report = LegReport()

    def feed(self, offset: int, pcm: bytes) -> None:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if self._next is None:
            self._anchor = (offset, self._rec.fed_samples)
        elif offset > self._next:
            self._gap(offset)
        elif offset < self._next:
            overlap = (self._next - offset) * 2
            self.report.overlaps += 1
            pcm = pcm[overlap:]
        if not pcm:
            return
        self._next = (self._next if self._next is not None else offset) + len(pcm) // 2
        self._accept(pcm)

    def finish(self) -> LegReport:
        """The leg is over: flush the last utterance."""
        if self._next is not None:
            self._final(self._rec.final(), forced=False)
        return self.report

    def _gap(self, offset: int) -> None:
        assert self._next is not None
        missing = offset - self._next
        self.report.gaps += 1
        self.report.gap_samples += missing
        if missing <= MAX_FILL_SECONDS * self._rate:
            self._accept(bytes(missing * 2))
        else:
            self._final(self._rec.final(), forced=True)
            self._anchor = (offset, self._rec.fed_samples)
        self._next = offset

    def _accept(self, pcm: bytes) -> None:
        if self._dump is not None:
            self._dump.write(pcm)
        self.report.fed_samples += len(pcm) // 2
        ended = self._endpointer.push(pcm)
        if self._rec.accept(pcm):
            self._final(self._rec.result(), forced=False)
        elif ended:
            self._final(self._rec.final(), forced=True)
        else:
            self._partial(self._rec.partial())

    def _to_call(self, seconds: float) -> float:
        call0, rec0 = self._anchor
        return round((call0 + seconds * self._rate - rec0) / self._rate, 3)

    def _words(self, raw: Any) -> tuple[Word, ...]:
        if not isinstance(raw, list):
            return ()
        return tuple(
            Word(
                word=str(w.get("word", "")),
                start=self._to_call(float(w.get("start", 0.0))),
                end=self._to_call(float(w.get("end", 0.0))),
                conf=round(float(w.get("conf", 1.0)), 3),
            )
            for w in raw
            if isinstance(w, dict)
        )

    def _partial(self, result: dict[str, Any]) -> None:
        text = str(result.get("partial", ""))
        if text == self._last_partial:
            return
        self._last_partial = text
        words = self._words(result.get("partial_result"))
        self._emit(TranscriptPartial(call_id=self.call_id, leg=self.leg, text=text, words=words))

    def _final(self, result: dict[str, Any], *, forced: bool) -> None:
        self._last_partial = ""
        words = self._words(result.get("result"))
        text = str(result.get("text", "")).strip()
        if not text or not words:
            return
        self.report.finals += 1
        self.report.forced_finals += forced
        self._emit(
            TranscriptFinal(
                call_id=self.call_id,
                leg=self.leg,
                start=words[0].start,
                end=words[-1].end,
                text=text,
                words=words,
                source=self.source,
            )
        )
