"""Acoustic checks on the stereo recording (caller left, agent right): silence and the longest
silence, talk-over between the legs, the agent's share of the talking, speaking rate (onsets per
second of speech), loudness and pitch variability.

Speech is found per 20 ms frame by level (``speech_dbfs``), with short gaps inside one's speech
bridged (``hangover_s``); recordings are digital silence where nobody speaks, so a level gate is
enough and costs almost nothing. librosa does the onsets and the pitch (YIN).
"""

from __future__ import annotations

import itertools
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tingyin.qa.checks import AudioChecks
from tingyin.qa.findings import Evidence, Finding

FRAME_S = 0.02
Mask = npt.NDArray[np.bool_]
Signal = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioMetrics:
    duration_s: float
    caller_talk_s: float
    agent_talk_s: float
    silence_s: float  # neither leg speaking, between the first and the last speech
    silence_ratio: float  # of that span
    longest_silence_s: float
    longest_silence_at: float
    overlap_s: float  # both legs speaking at once (runs ≥ min_overlap_s)
    overlaps: tuple[tuple[float, float], ...]
    agent_talk_ratio: float  # agent / (agent + caller) talking time
    speaking_rate: float  # onsets per second of the agent's speech
    agent_level_dbfs: float  # mean level of the agent's speech frames
    loudness_sd_db: float  # how much that level varies
    pitch_sd_semitones: float  # how much the agent's pitch varies (monotone ≈ 0)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["overlaps"] = [list(span) for span in self.overlaps]
        return data


def read_stereo(path: Path) -> tuple[Signal, Signal, int]:
    """The recording's left (caller) and right (agent) channels as floats, and its rate."""
    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit audio, expected 16-bit")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels == 1:
        return data, np.zeros_like(data), rate
    frames = data[: len(data) - len(data) % channels].reshape(-1, channels)
    return np.ascontiguousarray(frames[:, 0]), np.ascontiguousarray(frames[:, 1]), rate


def _levels(signal: Signal, hop: int) -> npt.NDArray[np.float64]:
    n = len(signal) // hop
    frames = signal[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.asarray(20 * np.log10(rms + 1e-10), dtype=np.float64)


def _runs(mask: Mask) -> list[tuple[int, int]]:
    """[start, end) frame index pairs of each run of True."""
    if not len(mask):
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _bridge(mask: Mask, frames: int) -> Mask:
    """Fill gaps of up to ``frames`` between two runs of speech."""
    out = mask.copy()
    runs = _runs(mask)
    for (_, end), (start, _) in itertools.pairwise(runs):
        if start - end <= frames:
            out[end:start] = True
    return out


def _rate(agent: Signal, rate: int, hop: int, speech: Mask, talk_s: float) -> float:
    import librosa

    if talk_s <= 0:
        return 0.0
    envelope = librosa.onset.onset_strength(
        y=agent, sr=rate, hop_length=hop, n_fft=4 * hop, n_mels=40, fmax=rate / 2
    )
    # Speech starting out of digital silence makes the biggest jumps; capped, they no longer
    # dwarf the syllables once the envelope is normalised for peak picking.
    n = min(len(envelope), len(speech))
    if speech[:n].any():
        envelope = np.minimum(envelope, np.percentile(envelope[:n][speech[:n]], 95))
    onsets = librosa.onset.onset_detect(
        onset_envelope=envelope, sr=rate, hop_length=hop, units="frames"
    )
    inside = [f for f in onsets if f < len(speech) and speech[f]]
    return round(len(inside) / talk_s, 2)


def _pitch_sd(agent: Signal, rate: int, hop: int, speech: Mask) -> float:
    import librosa

    if speech.sum() < 10:
        return 0.0
    f0 = librosa.yin(agent, fmin=70, fmax=400, sr=rate, frame_length=4 * hop * 2, hop_length=hop)
    n = min(len(f0), len(speech))
    voiced = f0[:n][speech[:n] & (f0[:n] < 390)]
    if len(voiced) < 10:
        return 0.0
    semitones = 12 * np.log2(voiced / np.median(voiced))
    return round(float(np.std(semitones)), 2)


def measure(left: Signal, right: Signal, rate: int, cfg: AudioChecks) -> AudioMetrics:
    hop = int(rate * FRAME_S)
    n = min(len(left), len(right)) // hop
    caller_db, agent_db = _levels(left, hop)[:n], _levels(right, hop)[:n]
    bridge = round(cfg.hangover_s / FRAME_S)
    caller = _bridge(caller_db > cfg.speech_dbfs, bridge)
    agent = _bridge(agent_db > cfg.speech_dbfs, bridge)
    anyone = caller | agent
    spoken = np.flatnonzero(anyone)
    silence_s = ratio = longest = longest_at = 0.0
    if len(spoken):
        first, last = int(spoken[0]), int(spoken[-1]) + 1
        quiet = ~anyone[first:last]
        silence_s = float(quiet.sum()) * FRAME_S
        ratio = silence_s / ((last - first) * FRAME_S)
        gaps = _runs(quiet)
        if gaps:
            a, b = max(gaps, key=lambda r: r[1] - r[0])
            longest, longest_at = (b - a) * FRAME_S, (first + a) * FRAME_S
    min_frames = round(cfg.min_overlap_s / FRAME_S)
    overlaps = tuple(
        (round(a * FRAME_S, 2), round(b * FRAME_S, 2))
        for a, b in _runs(caller & agent)
        if b - a >= min_frames
    )
    caller_s, agent_s = float(caller.sum()) * FRAME_S, float(agent.sum()) * FRAME_S
    talk = caller_s + agent_s
    level = agent_db[agent & (agent_db > cfg.speech_dbfs)]
    return AudioMetrics(
        duration_s=round(len(left) / rate, 2),
        caller_talk_s=round(caller_s, 2),
        agent_talk_s=round(agent_s, 2),
        silence_s=round(silence_s, 2),
        silence_ratio=round(ratio, 3),
        longest_silence_s=round(longest, 2),
        longest_silence_at=round(longest_at, 2),
        overlap_s=round(sum(b - a for a, b in overlaps), 2),
        overlaps=overlaps,
        agent_talk_ratio=round(agent_s / talk, 3) if talk else 0.0,
        speaking_rate=_rate(right, rate, hop, agent, agent_s),
        agent_level_dbfs=round(float(level.mean()), 1) if len(level) else -100.0,
        loudness_sd_db=round(float(level.std()), 2) if len(level) else 0.0,
        pitch_sd_semitones=_pitch_sd(right, rate, hop, agent),
    )


def measure_file(path: Path, cfg: AudioChecks) -> AudioMetrics:
    left, right, rate = read_stereo(path)
    return measure(left, right, rate, cfg)


def audio_findings(m: AudioMetrics, cfg: AudioChecks) -> list[Finding]:
    silence = Evidence("both", m.longest_silence_at, m.longest_silence_at + m.longest_silence_s)
    dead_air_ok = (
        m.longest_silence_s <= cfg.max_silence_s and m.silence_ratio <= cfg.max_silence_ratio
    )
    in_range = cfg.agent_talk_ratio_min <= m.agent_talk_ratio <= cfg.agent_talk_ratio_max
    return [
        Finding("dead_air", dead_air_ok, m.longest_silence_s,
                f"longest silence {m.longest_silence_s:.1f} s, {m.silence_ratio:.0%} of the call",
                (silence,) if m.longest_silence_s else ()),
        Finding("talk_over", len(m.overlaps) <= cfg.max_overlaps, float(len(m.overlaps)),
                f"{len(m.overlaps)} talk-over(s), {m.overlap_s:.1f} s",
                tuple(Evidence("both", a, b) for a, b in m.overlaps[:5])),
        Finding("agent_talk_ratio", in_range, m.agent_talk_ratio,
                f"agent talks {m.agent_talk_ratio:.0%} of the time"),
        Finding("speaking_rate", cfg.rate_min <= m.speaking_rate <= cfg.rate_max,
                m.speaking_rate, f"{m.speaking_rate:.1f} onsets/s"),
    ]  # fmt: skip
