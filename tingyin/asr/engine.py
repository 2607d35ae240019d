"""Vosk behind a small typed interface (the only module that imports vosk).

A model is loaded once per process (3 s, ~530 MB) and shared by all recognizers; forked ASR
workers share its pages. A recognizer's first decode costs 0.5–0.7 s, so recognizers are warmed
once and pooled: after a leg ends, ``FinalResult()`` + ``Reset()`` make one ready for the next.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import vosk

WARM_SECONDS = 1.0


def load_model(path: Path) -> vosk.Model:
    vosk.SetLogLevel(-1)
    return vosk.Model(str(path))


class Recognizer:
    """One KaldiRecognizer with words on, counting what it has been fed.

    Vosk's word times run from the recognizer's creation (they survive ``Reset()``), so
    ``fed_samples`` is what maps them back onto a call's time line.
    """

    def __init__(self, model: vosk.Model, rate: int = 8000) -> None:
        self.rate = rate
        self._rec = vosk.KaldiRecognizer(model, rate)
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self.fed_samples = 0

    def accept(self, pcm: bytes) -> bool:
        """Feed 16-bit mono PCM; True when Vosk's own endpointer closed an utterance."""
        self.fed_samples += len(pcm) // 2
        return bool(self._rec.AcceptWaveform(pcm))

    def partial(self) -> dict[str, Any]:
        return _json(self._rec.PartialResult())

    def result(self) -> dict[str, Any]:
        return _json(self._rec.Result())

    def final(self) -> dict[str, Any]:
        """Force the end of the current utterance and return it."""
        return _json(self._rec.FinalResult())

    def reset(self) -> None:
        self._rec.Reset()

    def warm(self) -> None:
        """Pay the first-decode cost now, on low noise, instead of during a call."""
        noise = np.random.default_rng(0).normal(0, 300, int(self.rate * WARM_SECONDS))
        self.accept(noise.astype("<i2").tobytes())
        self.final()
        self.reset()


def _json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


class RecognizerPool:
    """Warm recognizers for one sample rate, shared by the threads of one process."""

    def __init__(self, model: vosk.Model, rate: int = 8000, warm: int = 0) -> None:
        self._model = model
        self.rate = rate
        self._idle: list[Recognizer] = []
        self._lock = threading.Lock()
        self.created = 0
        for _ in range(warm):
            self._idle.append(self._new())

    def _new(self) -> Recognizer:
        rec = Recognizer(self._model, self.rate)
        rec.warm()
        with self._lock:
            self.created += 1
        return rec

    def take(self) -> Recognizer:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new()

    def give_back(self, rec: Recognizer) -> None:
        rec.final()
        rec.reset()
        with self._lock:
            self._idle.append(rec)

    @property
    def idle(self) -> int:
        return len(self._idle)
