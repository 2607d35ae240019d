"""Stereo WAV recording that survives a crash.

The header is written first with the sizes of what is on disk and rewritten every ``flush()``;
samples go to the kernel with unbuffered writes. A worker killed mid-call therefore leaves a
playable file missing at most the last flush interval, and ``repair_wav_header`` (run by the
hub when a worker dies) makes the header cover every sample that reached the disk.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

HEADER_BYTES = 44


def wav_header(rate: int, channels: int, data_bytes: int, sample_width: int = 2) -> bytes:
    byte_rate = rate * channels * sample_width
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        rate,
        byte_rate,
        channels * sample_width,
        8 * sample_width,
        b"data",
        data_bytes,
    )


class StereoWavWriter:
    """16-bit stereo PCM: the caller on the left channel, the other side on the right."""

    def __init__(self, path: Path, rate: int = 8000) -> None:
        self.path = path
        self.rate = rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        self._data_bytes = 0
        self._closed = False
        os.write(self._fd, wav_header(rate, 2, 0))

    @property
    def seconds(self) -> float:
        return self._data_bytes / (self.rate * 4)

    @property
    def frames(self) -> int:
        """Samples per channel written so far."""
        return self._data_bytes // 4

    def write(self, left: bytes, right: bytes) -> None:
        """Append equal-length mono 16-bit blocks of the two channels."""
        if len(left) != len(right):
            raise ValueError("channel blocks differ in length")
        if not left:
            return
        out = np.empty(len(left), dtype="<i2")  # len(left) bytes == 2 × samples per channel
        out[0::2] = np.frombuffer(left, dtype="<i2")
        out[1::2] = np.frombuffer(right, dtype="<i2")
        data = out.tobytes()
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        self._data_bytes += len(data)

    def flush(self) -> None:
        """Make the header cover everything written so far."""
        os.pwrite(self._fd, wav_header(self.rate, 2, self._data_bytes), 0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            os.close(self._fd)


def repair_wav_header(path: Path) -> float:
    """Rewrite a canonical 44-byte header to match the file's size; returns seconds of audio."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        head = f.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[36:40] != b"data":
            raise ValueError(f"{path.name} is not a canonical WAV file")
        channels, rate = struct.unpack_from("<HI", head, 22)
        (bits,) = struct.unpack_from("<H", head, 34)
        frame = channels * bits // 8
        data_bytes = (size - HEADER_BYTES) // frame * frame
        f.seek(0)
        f.write(wav_header(rate, channels, data_bytes, bits // 8))
    return float(data_bytes / (rate * frame))
