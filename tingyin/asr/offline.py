"""Transcribe one channel of a stored recording (post-call pass and ``tingyin transcribe``).

The same LegTranscriber as the live path, fed from the file as fast as the CPU allows, so a
post-call transcript is segmented and timed exactly like a live one.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soxr

from tingyin.asr.stream import LegReport, LegTranscriber, RecognizerLike
from tingyin.bus.events import Event

CHUNK_SECONDS = 0.1
LEG_CHANNELS = {"caller": 0}  # every other leg is the right channel (the other side)


class RecordingError(Exception):
    pass


def channel_of(leg: str) -> int:
    return LEG_CHANNELS.get(leg, 1)


def read_channel(path: Path, channel: int, rate: int) -> np.ndarray:
    """One channel as int16 at ``rate`` (resampled with soxr when the file differs)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise RecordingError(f"{path.name}: not 16-bit PCM")
            channels, file_rate = wav.getnchannels(), wav.getframerate()
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise RecordingError(f"{path.name}: not a readable WAV ({exc})") from exc
    if channel >= channels:
        channel = 0
    samples = data[: len(data) - len(data) % channels].reshape(-1, channels)[:, channel]
    if file_rate != rate:
        resampled = soxr.resample(samples.astype(np.float32) / 32768.0, file_rate, rate)
        samples = np.clip(resampled * 32768.0, -32768, 32767).astype("<i2")
    return np.ascontiguousarray(samples, dtype="<i2")


def transcribe_channel(
    path: Path,
    call_id: str,
    leg: str,
    recognizer: RecognizerLike,
    emit: Callable[[Event], None],
    *,
    silence_ms: int = 300,
    progress: Callable[[float], None] | None = None,
) -> LegReport:
    samples = read_channel(path, channel_of(leg), recognizer.rate)
    transcriber = LegTranscriber(
        call_id, leg, recognizer, emit, silence_ms=silence_ms, source="post"
    )
    step = int(recognizer.rate * CHUNK_SECONDS)
    for start in range(0, len(samples), step):
        transcriber.feed(start, samples[start : start + step].tobytes())
        if progress is not None:
            progress(min(len(samples), start + step) / recognizer.rate)
    return transcriber.finish()
