"""Synthetic stereo calls (caller left, agent right) whose silences and overlaps are known."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000
Signal = npt.NDArray[np.float32]


def voice(seconds: float, f0: float = 140.0, glide: float = 40.0, rate: int = RATE) -> Signal:
    """Speech-like sound: a few harmonics on a gliding pitch, pulsed at ~4 syllables a second
    (never 17 dB below its peak, so the speech detector hears one stretch of talking)."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 + glide * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    tone = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
    syllables = 0.15 + 0.85 * np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 2
    return (0.25 * tone * syllables).astype(np.float32)


def place(track: Signal, sound: Signal, at: float, rate: int = RATE) -> None:
    start = int(at * rate)
    track[start : start + len(sound)] += sound[: len(track) - start]


def write_stereo(path: Path, left: Signal, right: Signal, rate: int = RATE) -> Path:
    frames = np.stack([left, right], axis=1)
    pcm = (np.clip(frames, -1, 1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


# The planted call: (leg, start, seconds). Caller 0–5; agent 5–12; the caller talks over the
# agent's last second (11–15: a 1 s overlap); both silent 15–20 (the planted 5 s); agent 20–28;
# caller 28–30. Talk: caller 5 + 4 + 2 = 11 s, agent 7 + 8 = 15 s.
PLANTED: tuple[tuple[str, float, float], ...] = (
    ("caller", 0.0, 5.0),
    ("agent", 5.0, 7.0),
    ("caller", 11.0, 4.0),
    ("agent", 20.0, 8.0),
    ("caller", 28.0, 2.0),
)
PLANTED_SECONDS = 30.0


def planted_call(path: Path, rate: int = RATE) -> Path:
    n = int(PLANTED_SECONDS * rate)
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for leg, at, seconds in PLANTED:
        place(left if leg == "caller" else right, voice(seconds, rate=rate), at, rate)
    return write_stereo(path, left, right, rate)
