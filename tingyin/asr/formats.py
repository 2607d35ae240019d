"""A transcript as plain text, SRT or WebVTT (subtitles line up with the stereo recording)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SegmentLike(Protocol):
    @property
    def leg(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def as_text(segments: Sequence[SegmentLike], labels: dict[str, str]) -> str:
    lines = [f"[{_clock(s.start, '.')}] {labels.get(s.leg, s.leg)}: {s.text}" for s in segments]
    return "\n".join(lines) + ("\n" if lines else "")


def as_srt(segments: Sequence[SegmentLike], labels: dict[str, str]) -> str:
    blocks = [
        f"{i}\n{_clock(s.start, ',')} --> {_clock(max(s.end, s.start), ',')}\n"
        f"{labels.get(s.leg, s.leg)}: {s.text}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def as_vtt(segments: Sequence[SegmentLike], labels: dict[str, str]) -> str:
    blocks = [
        f"{_clock(s.start, '.')} --> {_clock(max(s.end, s.start), '.')}\n"
        f"<v {labels.get(s.leg, s.leg)}>{s.text}\n"
        for s in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)
