"""A recording's waveform for the review page: the peak of each leg per time bucket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tingyin.qa.auto_audio import read_stereo


@dataclass(frozen=True)
class Peaks:
    seconds: float
    rate: int
    caller: list[float]
    agent: list[float]


def peaks(path: Path, buckets: int) -> Peaks:
    left, right, rate = read_stereo(path)
    n = len(left)
    edges = np.linspace(0, n, buckets + 1, dtype=np.int64) if n else np.zeros(1, np.int64)

    def per_bucket(signal: np.typing.NDArray[np.float32]) -> list[float]:
        if not n:
            return []
        magnitude = np.abs(signal)
        starts = np.minimum(edges[:-1], n - 1)
        top = np.maximum.reduceat(magnitude, starts)
        return [round(float(v), 3) for v in top]

    return Peaks(round(n / rate, 3) if rate else 0.0, rate, per_bucket(left), per_bucket(right))
