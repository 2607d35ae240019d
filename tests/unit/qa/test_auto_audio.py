"""Acoustic checks on a stereo WAV synthesised here: a planted 5 s silence, a planted 1 s
talk-over, a known talk ratio; a monotone agent's pitch varies less than a lively one's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.qa.synth import RATE, planted_call, voice, write_stereo
from tingyin.qa.auto_audio import audio_findings, measure, measure_file
from tingyin.qa.checks import AudioChecks, load_qa_checks
from tingyin.qa.waveform import peaks

TOLERANCE_S = 0.1  # two 20 ms frames either side


@pytest.fixture(scope="module")
def cfg() -> AudioChecks:
    return load_qa_checks().audio


def test_the_planted_silence_overlap_and_talk_ratio(tmp_path: Path, cfg: AudioChecks) -> None:
    m = measure_file(planted_call(tmp_path / "call.wav"), cfg)
    assert m.duration_s == 30.0
    assert m.longest_silence_s == pytest.approx(5.0, abs=TOLERANCE_S)
    assert m.longest_silence_at == pytest.approx(15.0, abs=TOLERANCE_S)
    assert m.silence_ratio == pytest.approx(5 / 30, abs=0.01)
    assert len(m.overlaps) == 1
    assert m.overlaps[0] == pytest.approx((11.0, 12.0), abs=TOLERANCE_S)
    assert m.caller_talk_s == pytest.approx(11.0, abs=TOLERANCE_S)
    assert m.agent_talk_s == pytest.approx(15.0, abs=TOLERANCE_S)
    assert m.agent_talk_ratio == pytest.approx(15 / 26, abs=0.01)
    assert 3.0 <= m.speaking_rate <= 7.0  # ~4 syllables a second, counted as onsets
    assert m.agent_level_dbfs == pytest.approx(-20, abs=4)
    found = {f.check: f for f in audio_findings(m, cfg)}
    assert found["dead_air"].passed  # 5 s is under the 8 s limit
    assert found["dead_air"].evidence[0].start == pytest.approx(15.0, abs=TOLERANCE_S)
    assert found["talk_over"].passed and found["talk_over"].value == 1
    strict = cfg.model_copy(update={"max_silence_s": 4.0, "max_overlaps": 0})
    assert not any(f.passed for f in audio_findings(m, strict) if f.check != "agent_talk_ratio"
                   and f.check != "speaking_rate")  # fmt: skip


def test_pitch_variability(cfg: AudioChecks) -> None:
    silent = np.zeros(4 * RATE, np.float32)
    flat = measure(silent, voice(4.0, glide=0.0), RATE, cfg)
    lively = measure(silent, voice(4.0, glide=50.0), RATE, cfg)
    assert flat.pitch_sd_semitones < 0.5 < 2.0 < lively.pitch_sd_semitones


def test_the_waveform_peaks(tmp_path: Path) -> None:
    left = np.zeros(2 * RATE, np.float32)
    right = np.zeros(2 * RATE, np.float32)
    right[RATE:] = 0.5
    found = peaks(write_stereo(tmp_path / "w.wav", left, right), 10)
    assert found.seconds == 2.0 and found.caller == [0.0] * 10
    assert found.agent == [0.0] * 5 + [pytest.approx(0.5, abs=0.001)] * 5
