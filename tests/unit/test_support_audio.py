"""Tests for tests/support_audio.py: G.711, WAV/pcap readers and the consumed-audio checker."""

from __future__ import annotations

import shutil
import struct
import subprocess
import warnings
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support_audio import (
    Pcm,
    alaw_decode,
    alaw_roundtrip,
    check_consumed_audio,
    g711_roundtrip,
    read_wav_mono,
    rtp_payload_from_pcap,
    ulaw_decode,
    ulaw_roundtrip,
    write_wav_mono,
)

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz
SIPP_PCAP = Path("/usr/share/sip-tester/g711a.pcap")
ALL_INT16 = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)


# --- sources ---------------------------------------------------------------------------------


def synthetic_speech(seconds: float = 3.0, seed: int = 7) -> Pcm:
    """Speech-like audio: harmonics under a gliding pitch, syllable envelope, pauses, breath noise.

    The pitch keeps moving so no 20 ms shift of the signal looks like itself (a steady periodic
    tone would let a dropped frame hide behind its own period).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t) + 25 * np.sin(2 * np.pi * 1.9 * t + 1)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    harmonics = np.arange(1, 20)
    voiced: npt.NDArray[np.float64] = np.sin(np.outer(phase, harmonics)) @ (1 / harmonics)
    envelope = np.sqrt(np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None)) * (
        0.3 + 0.7 * np.sin(2 * np.pi * 0.45 * t) ** 2
    )
    envelope[(t > 0.9) & (t < 1.25)] = 0  # pauses between "phrases"
    envelope[(t > 2.1) & (t < 2.3)] = 0
    signal: npt.NDArray[np.float64] = (voiced + rng.normal(0, 0.3, len(t))) * envelope
    return (signal / float(np.abs(signal).max()) * 12000).astype(np.int16)


@pytest.fixture(scope="module")
def espeak_source(tmp_path_factory: pytest.TempPathFactory) -> Pcm:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed for the spoken source")
    tmp = tmp_path_factory.mktemp("espeak")
    text = "안녕하세요. 배달 주문 때문에 전화했어요. 음식이 아직 안 왔어요."
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(tmp / "raw.wav"), text], check=True)
    subprocess.run(
        ["sox", str(tmp / "raw.wav"), "-r", "8000", "-c", "1", "-b", "16", str(tmp / "src.wav")],
        check=True,
    )
    pcm, rate = read_wav_mono(tmp / "src.wav")
    assert rate == RATE
    return pcm


@pytest.fixture(params=["synthetic", "espeak"])
def source(request: pytest.FixtureRequest) -> Pcm:
    if request.param == "synthetic":
        return synthetic_speech()
    pcm: Pcm = request.getfixturevalue("espeak_source")
    return pcm


def silence(seconds: float) -> Pcm:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


LEAD = silence(0.37)


def leg(source: Pcm, law: str = "pcma") -> tuple[Pcm, Pcm]:
    """(what the leg delivered: silence + G.711(source) + silence, the round-tripped source)."""
    carried = g711_roundtrip(source, law)
    return np.concatenate([LEAD, carried, silence(0.5)]), carried


def speech_frame(source: Pcm, fraction: float) -> int:
    """Source offset of a 20 ms frame boundary near ``fraction`` of the way in."""
    return int(len(source) * fraction) // FRAME * FRAME


# --- G.711 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ulaw", "alaw"),
    [(0, 0, 8), (32767, 32124, 32256), (-32768, -32124, -32256), (-1, -8, -8), (1000, 988, 1008)],
)
def test_g711_known_values(value: int, ulaw: int, alaw: int) -> None:
    pcm = np.array([value], dtype=np.int16)
    assert int(ulaw_roundtrip(pcm)[0]) == ulaw
    assert int(alaw_roundtrip(pcm)[0]) == alaw


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
def test_g711_roundtrip_is_idempotent(law: str) -> None:
    once = g711_roundtrip(ALL_INT16, law)
    assert once.dtype == np.int16
    assert np.array_equal(g711_roundtrip(once, law), once)


def test_g711_matches_audioop_reference() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # gone in Python 3.13
    raw = ALL_INT16.astype("<i2").tobytes()
    ulaw = np.frombuffer(audioop.ulaw2lin(audioop.lin2ulaw(raw, 2), 2), dtype="<i2")
    alaw = np.frombuffer(audioop.alaw2lin(audioop.lin2alaw(raw, 2), 2), dtype="<i2")
    assert np.array_equal(ulaw_roundtrip(ALL_INT16), ulaw)
    assert np.array_equal(alaw_roundtrip(ALL_INT16), alaw)
    codes = bytes(range(256))
    assert np.array_equal(ulaw_decode(codes), np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2"))
    assert np.array_equal(alaw_decode(codes), np.frombuffer(audioop.alaw2lin(codes, 2), "<i2"))


def test_g711_law_names() -> None:
    pcm = synthetic_speech(0.2)
    assert np.array_equal(g711_roundtrip(pcm, "PCMU/8000/1"), ulaw_roundtrip(pcm))
    assert np.array_equal(g711_roundtrip(pcm, "PCMA"), alaw_roundtrip(pcm))
    with pytest.raises(ValueError, match=r"G\.711"):
        g711_roundtrip(pcm, "opus/48000/2")


# --- files -----------------------------------------------------------------------------------


def test_read_wav_mono_and_channel(tmp_path: Path) -> None:
    left, right = synthetic_speech(0.1), synthetic_speech(0.1, seed=3)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.stack([left, right], axis=1).astype("<i2").tobytes())
    pcm, rate = read_wav_mono(path, channel=1)
    assert rate == RATE and np.array_equal(pcm, right)
    with pytest.raises(ValueError, match="channel"):
        read_wav_mono(path)
    write_wav_mono(tmp_path / "mono.wav", left)
    assert np.array_equal(read_wav_mono(tmp_path / "mono.wav")[0], left)


def test_sipp_pcap_is_alaw_audio() -> None:
    if not SIPP_PCAP.exists():
        pytest.skip(f"{SIPP_PCAP} not installed (sip-tester package)")
    payload, payload_type = rtp_payload_from_pcap(SIPP_PCAP)
    assert payload_type == 8
    assert len(payload) > 0 and len(payload) % FRAME == 0
    audio = alaw_decode(payload)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert rms > 100, f"decoded SIPp audio is near-silent (RMS {rms:.1f})"


def _rtp(pt: int, seq: int, payload: bytes, *, csrcs: int = 0, ext: bool = False) -> bytes:
    first = 0x80 | (0x10 if ext else 0) | csrcs
    header = struct.pack("!BBHII", first, pt, seq, seq * 160, 0x1234) + b"\0" * (4 * csrcs)
    if ext:
        header += struct.pack("!HH", 0xBEDE, 1) + b"\0" * 4
    return header + payload


def _sll_ipv4_udp(udp_payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", 4000, 5000, 8 + len(udp_payload), 0) + udp_payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, bytes(4), bytes(4)
    )
    return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip + udp


def test_pcap_linux_cooked_with_csrcs_extension_and_other_payload_types(tmp_path: Path) -> None:
    packets = [
        b"SIP/2.0 200 OK\r\n\r\n",  # not RTP
        _rtp(0, 1, b"\x11" * 4),
        _rtp(101, 2, b"\x01\x0a\x00\xa0"),  # RFC 2833 event in the same stream: left out
        _rtp(0x80 | 0, 3, b"\x22" * 4, csrcs=2),  # marker bit set
        _rtp(0, 4, b"\x33" * 4, ext=True),
    ]
    blob = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 113)
    for packet in packets:
        frame = _sll_ipv4_udp(packet)
        blob += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    (tmp_path / "t.pcap").write_bytes(blob)
    assert rtp_payload_from_pcap(tmp_path / "t.pcap") == (
        b"\x11" * 4 + b"\x22" * 4 + b"\x33" * 4,
        0,
    )


# --- the checker -----------------------------------------------------------------------------


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
def test_checker_accepts_an_intact_leg(source: Pcm, law: str) -> None:
    consumed, carried = leg(source, law)
    report = check_consumed_audio(consumed, carried)
    assert report.ok, report.describe()
    assert report.delay_samples == len(LEAD)
    assert report.covered == 1.0 and report.lag_changes == ()
    assert report.min_correlation > 0.9999 and set(report.lags) == {0}
    assert len(report.windows) >= 5
    assert "OK" in report.describe()


def test_checker_tolerates_quantisation_and_gain(source: Pcm) -> None:
    consumed, _ = leg(source, "pcmu")
    # Compared with the raw source (and at half level) only G.711 noise separates them.
    report = check_consumed_audio(consumed.astype(np.float64) * 0.5, source)
    assert report.ok, report.describe()
    assert report.delay_samples == len(LEAD)
    report = check_consumed_audio(consumed, alaw_roundtrip(source))
    assert report.ok, report.describe()


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_checker_rejects_a_dropped_frame(source: Pcm, fraction: float) -> None:
    consumed, carried = leg(source)
    at = len(LEAD) + speech_frame(source, fraction)
    consumed = np.concatenate([consumed[:at], consumed[at + FRAME :]])
    report = check_consumed_audio(consumed, carried)
    assert not report.ok, report.describe()
    assert [delta for _, delta in report.lag_changes] == [-FRAME], report.describe()
    assert "-160 samples (-20.0 ms): audio missing" in report.describe()


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_checker_rejects_a_duplicated_frame(source: Pcm, fraction: float) -> None:
    consumed, carried = leg(source)
    at = len(LEAD) + speech_frame(source, fraction)
    consumed = np.concatenate([consumed[: at + FRAME], consumed[at:]])
    report = check_consumed_audio(consumed, carried)
    assert not report.ok, report.describe()
    assert [delta for _, delta in report.lag_changes] == [FRAME], report.describe()
    assert "+160 samples (+20.0 ms): extra audio inserted" in report.describe()


def test_checker_rejects_a_slip_wherever_speech_follows() -> None:
    """Sweep drop/duplicate positions, including the very first frames of the source."""
    source = synthetic_speech()
    consumed, carried = leg(source)
    frame_rms = np.sqrt(np.mean(source.astype(np.float64).reshape(-1, FRAME) ** 2, axis=1))
    for f in [1, 2, *range(5, len(frame_rms) - 1, 9)]:
        if not (frame_rms[f:] > 184).any():  # only silence after it: nothing was lost
            continue
        at = len(LEAD) + f * FRAME
        dropped = np.concatenate([consumed[:at], consumed[at + FRAME :]])
        duplicated = np.concatenate([consumed[: at + FRAME], consumed[at:]])
        assert not check_consumed_audio(dropped, carried).ok, f"drop at frame {f} passed"
        assert not check_consumed_audio(duplicated, carried).ok, f"dup at frame {f} passed"


def test_checker_rejects_a_gap_of_zeros(source: Pcm) -> None:
    consumed, carried = leg(source)
    at = len(LEAD) + speech_frame(source, 0.35)
    consumed[at : at + RATE] = 0
    report = check_consumed_audio(consumed, carried)
    assert not report.ok
    assert report.delay_samples == len(LEAD) and report.covered == 1.0
    assert "correlate below 0.95" in report.describe()
    assert "consumed -inf dBFS" in report.describe()


def test_checker_rejects_a_truncated_end(source: Pcm) -> None:
    _, carried = leg(source)
    consumed = np.concatenate([LEAD, carried[: -RATE // 2]])
    report = check_consumed_audio(consumed, carried)
    assert not report.ok
    assert report.covered == pytest.approx(1 - (RATE // 2) / len(carried))
    assert "0.500 s missing at the end" in report.describe()


def test_checker_rejects_a_silent_source() -> None:
    report = check_consumed_audio(silence(1.0), silence(0.5))
    assert not report.ok
    assert "no speech windows" in report.describe()


def test_checker_tolerates_requested_lag_jitter(source: Pcm) -> None:
    consumed, carried = leg(source)
    at = len(LEAD) + speech_frame(source, 0.5)
    # One sample lost: a zero-tolerance check flags it, ``max_lag_change=1`` accepts it.
    consumed = np.concatenate([consumed[:at], consumed[at + 1 :]])
    assert not check_consumed_audio(consumed, carried).ok
    report = check_consumed_audio(consumed, carried, max_lag_change=1, min_corr=0.9)
    assert report.ok, report.describe()
