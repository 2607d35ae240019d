"""Audio test support: prove that the audio a recognizer consumed is the audio a call leg carried.

Telephony audio here is 8 kHz mono int16; a call leg carries it G.711-encoded (PCMU/PCMA), so a
test compares the consumed audio against the source *after* a G.711 round trip
(:func:`g711_roundtrip`), which makes an intact leg sample-exact up to a constant delay.

- G.711: :func:`ulaw_roundtrip`, :func:`alaw_roundtrip`, :func:`g711_roundtrip`,
  :func:`ulaw_decode`, :func:`alaw_decode` (bit-exact with the ITU/Sun reference that
  Python's old ``audioop`` and pjmedia's tables implement).
- Files: :func:`read_wav_mono`, :func:`write_wav_mono`, :func:`rtp_payload_from_pcap` (rebuild
  what SIPp's ``play_pcap_audio`` sends).
- The checker: :func:`check_consumed_audio` returns an :class:`AlignmentReport`; assert
  ``report.ok`` with ``report.describe()`` as the message.
"""

from __future__ import annotations

import itertools
import math
import struct
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]
Signal = npt.NDArray[np.number[Any]]

# --------------------------------------------------------------------------------------------
# G.711
# --------------------------------------------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def _as_int16(pcm: Signal) -> Pcm:
    arr = np.asarray(pcm)
    if arr.dtype == np.int16:
        return arr.astype(np.int16, copy=False)
    # Saturate instead of wrapping: wrap-around would turn a loud peak into its opposite sign.
    return np.clip(np.rint(arr.astype(np.float64)), -32768, 32767).astype(np.int16)


def _segment(mag: npt.NDArray[np.int64], seg_ends: tuple[int, ...]) -> npt.NDArray[np.int64]:
    """Index of the first segment end >= ``mag`` (the reference ``search()``); 8 means overflow."""
    return np.searchsorted(np.asarray(seg_ends, dtype=np.int64), mag, side="left").astype(np.int64)


def _ulaw_encode_all() -> npt.NDArray[np.uint8]:
    """µ-law code for every int16 (indexed by the value viewed as uint16).

    Same arithmetic as the ITU/Sun reference in 14-bit form (audioop ``st_14linear2ulaw``, and
    pjmedia's tables, indexed by ``pcm >> 2``): the two low bits are floored away *before* the
    sign is taken, so e.g. -1 encodes like -4. The 16-bit form differs for small negatives.
    """
    pcm = np.arange(-32768, 32768, dtype=np.int64) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP >> 2) + (_ULAW_BIAS >> 2)
    seg = _segment(mag, (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF))
    code = ((seg << 4) | ((mag >> (seg + 1)) & 0xF)) ^ mask
    table = np.empty(65536, dtype=np.uint8)
    table[np.arange(-32768, 32768, dtype=np.int64).astype(np.int16).view(np.uint16)] = code
    return table


def _ulaw_decode_all() -> Pcm:
    u = ~np.arange(256, dtype=np.int64) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _alaw_encode_all() -> npt.NDArray[np.uint8]:
    """A-law code for every int16 (reference ``linear2alaw`` on the 13-bit value ``pcm >> 3``)."""
    pcm = np.arange(-32768, 32768, dtype=np.int64) >> 3
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    mag = np.where(negative, -pcm - 1, pcm)
    seg = _segment(mag, (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF))
    quant = np.where(seg < 2, mag >> 1, mag >> np.maximum(seg, 1)) & 0xF
    code = np.where(seg >= 8, 0x7F, (seg << 4) | quant) ^ mask
    table = np.empty(65536, dtype=np.uint8)
    table[np.arange(-32768, 32768, dtype=np.int64).astype(np.int16).view(np.uint16)] = code
    return table


def _alaw_decode_all() -> Pcm:
    a = np.arange(256, dtype=np.int64) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


@cache
def _tables(law: str) -> tuple[npt.NDArray[np.uint8], Pcm]:
    """(encode table over all 65536 inputs, decode table over 256 codes); built once."""
    if law == "pcmu":
        return _ulaw_encode_all(), _ulaw_decode_all()
    return _alaw_encode_all(), _alaw_decode_all()


def _law_name(law: str) -> str:
    # Accept SDP/pjsua codec ids such as "PCMA/8000/1" as well as bare names.
    name = law.strip().lower().split("/", 1)[0]
    aliases = {"pcmu": "pcmu", "ulaw": "pcmu", "mulaw": "pcmu", "pcma": "pcma", "alaw": "pcma"}
    if name not in aliases:
        raise ValueError(f"unknown G.711 law {law!r}: expected PCMU or PCMA")
    return aliases[name]


def g711_encode(pcm: Signal, law: str) -> npt.NDArray[np.uint8]:
    """G.711 code bytes (one per sample) for ``pcm``."""
    encode, _ = _tables(_law_name(law))
    return encode[_as_int16(pcm).view(np.uint16)]


def g711_decode(codes: bytes | npt.NDArray[np.uint8], law: str) -> Pcm:
    """Linear int16 samples for G.711 code bytes."""
    _, decode = _tables(_law_name(law))
    arr = np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, bytes) else codes
    return decode[arr]


def g711_roundtrip(pcm: Signal, law: str) -> Pcm:
    """``pcm`` as a G.711 leg delivers it; ``law`` is "pcmu"/"pcma" or e.g. "PCMA/8000/1"."""
    return g711_decode(g711_encode(pcm, law), law)


def ulaw_roundtrip(pcm: Signal) -> Pcm:
    return g711_roundtrip(pcm, "pcmu")


def alaw_roundtrip(pcm: Signal) -> Pcm:
    return g711_roundtrip(pcm, "pcma")


def ulaw_decode(data: bytes) -> Pcm:
    return g711_decode(data, "pcmu")


def alaw_decode(data: bytes) -> Pcm:
    return g711_decode(data, "pcma")


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def read_wav_mono(path: Path, channel: int | None = None) -> tuple[Pcm, int]:
    """(int16 samples, sample rate) of a 16-bit PCM WAV; ``channel`` picks one of several.

    A multi-channel file without ``channel`` is an error rather than a downmix: mixing would
    break the sample-exact comparison the checker relies on.
    """
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * wav.getsampwidth()}-bit samples, expected 16-bit")
        channels = wav.getnchannels()
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    data = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    if channels == 1 and channel in (None, 0):
        return data, rate
    if channel is None:
        raise ValueError(f"{path}: {channels} channels; pass channel= to pick one")
    if not 0 <= channel < channels:
        raise ValueError(f"{path}: no channel {channel} (file has {channels})")
    return np.ascontiguousarray(data.reshape(-1, channels)[:, channel]), rate


def write_wav_mono(path: Path, pcm: Signal, rate: int = 8000) -> None:
    """Write int16 mono WAV (e.g. to keep the consumed audio of a failed test for listening)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(_as_int16(pcm).astype("<i2").tobytes())


# Link-layer header lengths by libpcap LINKTYPE (None: Ethernet, parsed for VLAN tags).
_LINK_HEADER: dict[int, int | None] = {0: 4, 1: None, 101: 0, 113: 16, 228: 0, 276: 20}
_COOKED_PROTOCOL_AT = {113: 14, 276: 0}  # SLL, SLL2: offset of the EtherType-style field
_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": "<",  # little-endian, µs timestamps
    b"\x4d\x3c\xb2\xa1": "<",  # little-endian, ns timestamps
    b"\xa1\xb2\xc3\xd4": ">",
    b"\xa1\xb2\x3c\x4d": ">",
}


def _ipv4_udp_payload(frame: bytes, linktype: int) -> bytes | None:
    """UDP payload of an unfragmented IPv4 packet in ``frame``, else None."""
    off = _LINK_HEADER[linktype]
    if off is None:  # Ethernet: skip 802.1Q/802.1ad tags to the real EtherType.
        off, ethertype = 14, struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
        while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            ethertype = struct.unpack_from("!H", frame, off + 2)[0]
            off += 4
        if ethertype != 0x0800:
            return None
    elif linktype in _COOKED_PROTOCOL_AT:  # Linux cooked capture: protocol field must be IPv4
        at = _COOKED_PROTOCOL_AT[linktype]
        if frame[at : at + 2] != b"\x08\x00":
            return None
    ip = frame[off:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    flags_frag = struct.unpack_from("!H", ip, 6)[0]
    if flags_frag & 0x3FFF:  # MF set or non-zero offset: no reassembly here.
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    udp = ip[ihl:total]
    if len(udp) < 8:
        return None
    udp_len = struct.unpack_from("!H", udp, 4)[0]
    return udp[8:udp_len]


def _rtp_payload(udp: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP v2 packet, else None (SIP text, RTCP, junk)."""
    if len(udp) < 12 or udp[0] >> 6 != 2:
        return None
    pt = udp[1] & 0x7F
    if 72 <= pt <= 76:  # RTCP sender/receiver reports etc. share the first bytes' layout.
        return None
    off = 12 + 4 * (udp[0] & 0x0F)
    if udp[0] & 0x10:  # header extension: 4-byte header + length in 32-bit words
        if len(udp) < off + 4:
            return None
        off += 4 + 4 * struct.unpack_from("!H", udp, off + 2)[0]
    end = len(udp)
    if udp[0] & 0x20 and end > off:  # padding: last byte counts the padding bytes
        end -= udp[-1]
    if end < off:
        return None
    return pt, udp[off:end]


def rtp_payload_from_pcap(path: Path) -> tuple[bytes, int]:
    """(concatenated RTP payloads in file order, payload type) of a classic libpcap file.

    The payload type is that of the first RTP packet; packets with another one (RFC 2833
    telephone-events, comfort noise) are left out, since SIPp's audio is the main stream.
    """
    data = path.read_bytes()
    endian = _PCAP_MAGIC.get(data[:4])
    if endian is None:
        raise ValueError(f"{path}: not a classic libpcap file (pcapng is not supported)")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    if linktype not in _LINK_HEADER:
        raise ValueError(f"{path}: unsupported link type {linktype}")
    payloads: list[bytes] = []
    payload_type: int | None = None
    off = 24
    while off + 16 <= len(data):
        incl_len = struct.unpack_from(endian + "I", data, off + 8)[0]
        frame = data[off + 16 : off + 16 + incl_len]
        off += 16 + incl_len
        udp = _ipv4_udp_payload(frame, linktype)
        rtp = _rtp_payload(udp) if udp is not None else None
        if rtp is None:
            continue
        if payload_type is None:
            payload_type = rtp[0]
        if rtp[0] == payload_type:
            payloads.append(rtp[1])
    if payload_type is None:
        raise ValueError(f"{path}: no RTP packets found")
    return b"".join(payloads), payload_type


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowAlignment:
    """One speech window of the source and where it was found in the consumed audio."""

    index: int  # window number in the source (silent windows keep their numbers)
    start: int  # first source sample
    end: int  # one past the last source sample
    lag: int  # best local lag in samples relative to the global delay
    correlation: float  # normalised correlation at the global delay (± max_lag_change)
    best_correlation: float  # normalised correlation at ``lag``
    consumed_rms: float  # RMS of the consumed audio at the global delay
    # Worst 20 ms frame (of those above the silence threshold) at the global delay (± tolerance):
    # catches a slip covering too little of a window to sink its correlation, e.g. at the edges.
    worst_frame_start: int
    worst_frame_correlation: float


@dataclass(frozen=True)
class AlignmentReport:
    """What :func:`check_consumed_audio` found; ``ok`` is the verdict, ``describe()`` the why."""

    rate: int
    source_samples: int
    consumed_samples: int
    delay_samples: int  # consumed[delay + k] ~ source[k]
    window_samples: int
    min_corr: float
    max_lag_change: int
    windows: tuple[WindowAlignment, ...]  # speech windows only
    silent_windows: int
    min_correlation: float  # over speech windows at the global delay; nan if there are none
    min_frame_correlation: float  # same, over the 20 ms speech frames inside them
    lag_changes: tuple[tuple[int, int], ...]  # (window index, lag delta) between speech windows
    covered: float  # fraction of the source's samples that lie inside the consumed audio
    problems: tuple[str, ...]
    ok: bool

    @property
    def delay_ms(self) -> float:
        return 1000.0 * self.delay_samples / self.rate

    @property
    def lags(self) -> tuple[int, ...]:
        return tuple(w.lag for w in self.windows)

    @property
    def correlations(self) -> tuple[float, ...]:
        return tuple(w.correlation for w in self.windows)

    def describe(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        lines = [
            f"consumed audio vs source: {verdict}; delay {self.delay_samples} samples "
            f"({self.delay_ms:.1f} ms), source {self.source_samples / self.rate:.2f} s, "
            f"consumed {self.consumed_samples / self.rate:.2f} s, "
            f"covered {100 * self.covered:.1f} %, "
            f"{len(self.windows)} speech windows of {self.window_samples} samples "
            f"({self.silent_windows} silent skipped), min correlation {self.min_correlation:.3f}"
            f" (per 20 ms frame {self.min_frame_correlation:.3f}; need >= {self.min_corr})"
        ]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _fft_xcorr_delay(consumed: npt.NDArray[np.float64], source: npt.NDArray[np.float64]) -> int:
    """Lag d maximising sum_k consumed[d + k] * source[k], over every lag with some overlap."""
    n = len(consumed) + len(source) - 1
    size = 1 << (n - 1).bit_length()
    spec = np.fft.rfft(consumed, size) * np.conj(np.fft.rfft(source, size))
    xc = np.fft.irfft(spec, size)
    # Index i holds lag i for i < len(consumed) and lag i - size (negative) at the top end.
    lags = np.concatenate([np.arange(len(consumed)), np.arange(-(len(source) - 1), 0)])
    values = np.concatenate([xc[: len(consumed)], xc[size - (len(source) - 1) :]])
    return int(lags[int(np.argmax(values))])


def _worst_frame(
    ref: npt.NDArray[np.float64],
    seg: npt.NDArray[np.float64],
    frame: int,
    lags: int,
    threshold: float,
) -> tuple[int, float]:
    """(offset, correlation) of the worst non-silent whole frame of ``ref``, each frame taking
    its best of ``lags`` consecutive alignments starting at ``seg[0]``; (0, 1.0) if none."""
    n = len(ref) // frame
    frames = ref[: n * frame].reshape(n, frame)
    loud = np.sqrt(np.mean(frames**2, axis=1)) >= threshold
    if not loud.any():
        return 0, 1.0
    best = np.zeros(n)
    for lag in range(lags):
        got = seg[lag : lag + n * frame].reshape(n, frame)
        dot = np.einsum("ij,ij->i", frames, got)
        denom = np.sqrt(np.einsum("ij,ij->i", frames, frames) * np.einsum("ij,ij->i", got, got))
        corr = np.divide(dot, denom, out=np.zeros(n), where=denom > 0)
        best = np.maximum(best, corr)
    worst = int(np.argmin(np.where(loud, best, np.inf)))
    return worst * frame, float(best[worst])


def _dbfs(rms: float) -> str:
    return "-inf dBFS" if rms <= 0 else f"{20 * math.log10(rms / 32768):.0f} dBFS"


def _lag_words(delta: int, rate: int) -> str:
    ms = 1000.0 * delta / rate
    # Later-than-expected source content means consumed audio was inserted, earlier means lost.
    what = "extra audio inserted (e.g. a duplicated frame)" if delta > 0 else "audio missing"
    return f"{delta:+d} samples ({ms:+.1f} ms): {what}"


def check_consumed_audio(
    consumed: Signal,
    source: Signal,
    rate: int = 8000,
    *,
    window_ms: int = 200,
    min_corr: float = 0.95,
    max_lag_change: int = 0,
    silence_dbfs: float = -45.0,
    silence_rel: float = 0.01,
) -> AlignmentReport:
    """Check that ``consumed`` carries ``source`` intact after one constant delay.

    ``source`` should already be G.711 round-tripped the way the leg carried it; ``consumed`` may
    have anything before and after it, and any gain (correlations are normalised).

    Steps: the global delay d by FFT cross-correlation; then, per ``window_ms`` window of the
    source that is not near-silent (RMS under ``silence_dbfs`` or under ``silence_rel`` x the
    loudest window), the best local lag within a few frames of d and the normalised correlation
    there. ``ok`` needs all of:

    - every speech window, and every non-silent 20 ms frame inside one, correlates
      >= ``min_corr`` at d (± ``max_lag_change`` samples);
    - every window that aligns well somewhere has its best lag within ± ``max_lag_change`` of
      d, so a dropped or duplicated frame, which shifts everything after it, fails;
    - the whole source lies inside the consumed audio (``covered == 1``).
    """
    src = np.asarray(source, dtype=np.float64).ravel()
    con = np.asarray(consumed, dtype=np.float64).ravel()
    if len(src) == 0:
        raise ValueError("empty source")
    if max_lag_change < 0:
        raise ValueError("max_lag_change must be >= 0")
    win = max(1, rate * window_ms // 1000)
    frame = max(1, rate // 50)  # 20 ms
    search = max(3 * frame, max_lag_change + 2 * frame)

    delay = _fft_xcorr_delay(con, src) if len(con) else 0
    overlap = min(len(con), delay + len(src)) - max(0, delay)
    covered = max(0, overlap) / len(src)

    # Zero padding lets every window look ±search around d without bounds checks; zeros read
    # as "not there", which is what audio outside the consumed buffer is.
    pad = len(src) + search + 1
    cpad = np.concatenate([np.zeros(pad), con, np.zeros(pad)])
    starts = list(range(0, len(src), win))
    if len(starts) > 1 and len(src) - starts[-1] < frame:
        starts.pop()  # a sliver shorter than a frame says nothing reliable; fold it away
    bounds = [(s, starts[i + 1] if i + 1 < len(starts) else len(src)) for i, s in enumerate(starts)]
    rms = np.array([math.sqrt(float(np.mean(src[s:e] ** 2))) for s, e in bounds])
    threshold = max(32768.0 * 10 ** (silence_dbfs / 20), silence_rel * float(rms.max()))

    windows: list[WindowAlignment] = []
    tol = max_lag_change
    for index, (s, e) in enumerate(bounds):
        if rms[index] < threshold:
            continue
        ref = src[s:e]
        seg = cpad[pad + delay + s - search : pad + delay + e + search]
        xc = np.correlate(seg, ref, mode="valid")  # xc[j] is lag j - search
        csum = np.concatenate([[0.0], np.cumsum(seg * seg)])
        energy = np.maximum(csum[len(ref) :] - csum[: -len(ref)], 0.0)
        denom = np.sqrt(energy * float(ref @ ref))
        corr = np.divide(xc, denom, out=np.zeros_like(xc), where=denom > 0)
        offsets = np.arange(-search, search + 1)
        # Prefer the smallest shift among (numerically) equal peaks, e.g. for periodic audio.
        best = int(np.argmax(corr - 1e-9 * np.abs(offsets)))
        band = corr[search - tol : search + tol + 1]
        frame_start, frame_corr = _worst_frame(
            ref, seg[search - tol :], frame, 2 * tol + 1, threshold
        )
        windows.append(
            WindowAlignment(
                index=index,
                start=s,
                end=e,
                lag=int(offsets[best]),
                correlation=float(band.max()),
                best_correlation=float(corr[best]),
                consumed_rms=math.sqrt(float(energy[search]) / len(ref)),
                worst_frame_start=s + frame_start,
                worst_frame_correlation=frame_corr,
            )
        )

    # Lag changes are tracked only across windows whose best match is good enough to trust;
    # a window of zeros or foreign audio has an arbitrary "best" lag.
    reliable = [w for w in windows if w.best_correlation >= min_corr]
    steps = [(prev, cur) for prev, cur in itertools.pairwise(reliable) if cur.lag != prev.lag]
    lag_changes = tuple((cur.index, cur.lag - prev.lag) for prev, cur in steps)
    min_correlation = min((w.correlation for w in windows), default=math.nan)
    min_frame_correlation = min((w.worst_frame_correlation for w in windows), default=math.nan)

    def when(w: WindowAlignment) -> str:
        return f"#{w.index} [{w.start / rate:.2f}-{w.end / rate:.2f} s]"

    # Root causes first (coverage, shifts), then the correlation evidence they produce.
    problems: list[str] = []
    if not windows:
        problems.append("source has no speech windows above the silence threshold")
    if covered < 1.0:
        missing_head = max(0, -delay)
        missing_tail = max(0, delay + len(src) - len(con))
        problems.append(
            f"source not fully inside consumed audio: {100 * covered:.1f} % covered, "
            f"{missing_head / rate:.3f} s missing at the start, "
            f"{missing_tail / rate:.3f} s missing at the end"
        )
    # Jitter within ±max_lag_change of d is tolerated on request; anything beyond is a fault.
    shifted = {w.index for w in reliable if abs(w.lag) > tol}
    reported = False
    for prev, cur in steps:
        delta = cur.lag - prev.lag
        if abs(delta) > tol or cur.index in shifted:
            problems.append(
                f"alignment changes between windows {when(prev)} and {when(cur)}: "
                f"{_lag_words(delta, rate)}"
            )
            reported = True
    if shifted and not reported:  # offset from d from the first window on, without a change
        first = next(w for w in reliable if w.index in shifted)
        problems.append(
            f"speech windows best aligned at delay {delay}{first.lag:+d} samples, not {delay}"
        )
    bad = [w for w in windows if w.correlation < min_corr]
    if bad:
        shown = ", ".join(
            f"{when(w)} {w.correlation:.3f} (consumed {_dbfs(w.consumed_rms)})" for w in bad[:8]
        )
        more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        problems.append(
            f"{len(bad)} of {len(windows)} speech windows correlate below {min_corr} at the "
            f"global delay: {shown}{more}"
        )
    bad_frames = [w for w in windows if w.worst_frame_correlation < min_corr and w not in bad]
    if bad_frames:
        shown = ", ".join(
            f"{when(w)} frame at {w.worst_frame_start / rate:.2f} s {w.worst_frame_correlation:.3f}"
            for w in bad_frames[:8]
        )
        problems.append(
            f"{len(bad_frames)} speech windows pass as a whole but hold a 20 ms frame below "
            f"{min_corr} at the global delay: {shown}"
        )
    ok = not problems
    return AlignmentReport(
        rate=rate,
        source_samples=len(src),
        consumed_samples=len(con),
        delay_samples=delay,
        window_samples=win,
        min_corr=min_corr,
        max_lag_change=max_lag_change,
        windows=tuple(windows),
        silent_windows=len(bounds) - len(windows),
        min_correlation=min_correlation,
        min_frame_correlation=min_frame_correlation,
        lag_changes=lag_changes,
        covered=covered,
        problems=tuple(problems),
        ok=ok,
    )
