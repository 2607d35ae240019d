from __future__ import annotations

import os
import wave
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from tingyin.telephony.call_recorder import CallRecorder
from tingyin.telephony.recording import StereoWavWriter, repair_wav_header


def tone(n: int, value: int) -> bytes:
    return np.full(n, value, dtype="<i2").tobytes()


def test_stereo_writer_interleaves_caller_left(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    writer = StereoWavWriter(path)
    writer.write(tone(160, 1000), tone(160, -5))
    writer.close()
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 160)
        samples = np.frombuffer(wav.readframes(160), dtype="<i2").reshape(-1, 2)
    assert (samples[:, 0] == 1000).all() and (samples[:, 1] == -5).all()


def test_file_is_playable_without_close(tmp_path: Path) -> None:
    """A crash after a flush leaves a valid WAV with everything flushed so far."""
    path = tmp_path / "crash.wav"
    writer = StereoWavWriter(path)
    for _ in range(50):
        writer.write(tone(160, 7), tone(160, 7))
    writer.flush()
    writer.write(tone(160, 7), tone(160, 7))  # written but not flushed: header lags
    # no close(): simulate the process dying here
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == 50 * 160
    assert repair_wav_header(path) == pytest.approx(51 * 160 / 8000)
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == 51 * 160
    os.close(writer._fd)


def test_repair_refuses_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"not a wav file at all, just some bytes of text here")
    with pytest.raises(ValueError, match="not a canonical WAV"):
        repair_wav_header(path)


def test_recorder_pads_a_lagging_channel_and_heartbeats(tmp_path: Path) -> None:
    left: deque[bytes | None] = deque()
    right: deque[bytes | None] = deque()
    recorder = CallRecorder(tmp_path / "c.wav", left, right)
    for _ in range(20):
        left.append(tone(160, 100))
    right.append(None)  # heartbeat frame: silence
    recorder.pump()
    # 20 left frames; 1 right: the other 19 are padded once the skew passes the limit
    recorder.close()
    with wave.open(str(tmp_path / "c.wav")) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(samples) == 20 * 160
    assert (samples[:, 0] == 100).all() and (samples[:, 1] == 0).all()


def test_recorder_fits_odd_frame_sizes(tmp_path: Path) -> None:
    left: deque[bytes | None] = deque([tone(100, 1), tone(200, 2)])
    right: deque[bytes | None] = deque([tone(160, 3), tone(160, 4)])
    recorder = CallRecorder(tmp_path / "o.wav", left, right)
    recorder.close()
    with wave.open(str(tmp_path / "o.wav")) as wav:
        assert wav.getnframes() == 2 * 160
