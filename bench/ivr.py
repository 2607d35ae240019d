"""IVR answer latency: the 200 OK → the first audio of the welcome prompt in the caller's ear.

    .venv/bin/python bench/ivr.py                    # 20 calls, one at a time
    .venv/bin/python bench/ivr.py --calls 40 --concurrency 4

Starts ``tingyin serve`` with the packaged IVR menu and live transcription off, and places
``--warmup`` uncounted calls first (the prompts are synthesised in the background at start, and
a worker's first play opens files and sets up its player: the warm-up calls go on until one of
them hears the welcome within a second, so the counted calls find the prompts ready). Then
``--calls`` pjsua2 test callers (``tingyin.telephony.test_caller --record``), ``--concurrency``
at a time, each listening for ``--listen`` seconds. For every call:

- ``record_offset``: when the caller's recorder started, after the 200 OK (the test caller's
  monotonic clock; media comes up with the answer, so this is a few ms either way);
- the first 20 ms frame of the recording louder than ``--threshold-dbfs`` (-40 dBFS).

answer → first audio = record_offset + that frame's start (so it is quantised to 20 ms). It
includes everything the caller waits through: the hub hearing of the answer, the IVR's first
node, the play command to the media worker, the conference bridge and RTP on loopback, the
caller's jitter buffer, and the prompt file's own lead-in (printed apart). A second figure,
not quantised, places the welcome prompt's first sample in the recording by cross-correlation
with the WAV the hub synthesised. The target is ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sip_capacity import start_hub

from tingyin.ivr.actions import IVR_SPEED
from tingyin.ivr.menu import load_menu
from tingyin.telephony.prompts import spoken_prompt

TARGET_MS = 200.0
FRAME_S = 0.020
CALLER_RTP_BASE = 30000  # the hub's workers take 40000 and up


@dataclass(frozen=True)
class Heard:
    answered: bool
    record_offset_ms: float | None  # the recorder's start after the 200 OK
    first_loud_ms: float | None  # the first loud 20 ms frame, from the recording's start
    prompt_at_ms: float | None  # where the welcome prompt's first sample lies in the recording

    def after_answer(self, ms: float | None) -> float | None:
        return None if ms is None or self.record_offset_ms is None else self.record_offset_ms + ms


def read_pcm(path: Path) -> tuple[npt.NDArray[np.float64], int]:
    with wave.open(str(path), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        raw = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit PCM")
    return np.frombuffer(raw, dtype="<i2").reshape(-1, channels)[:, 0].astype(np.float64), rate


def first_loud_frame_s(pcm: npt.NDArray[np.float64], rate: int, dbfs: float) -> float | None:
    """Start (s) of the first 20 ms frame whose RMS is above ``dbfs``; None if none is."""
    frame = int(rate * FRAME_S)
    count = len(pcm) // frame
    if count == 0:
        return None
    rms = np.sqrt(np.mean(pcm[: count * frame].reshape(count, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > 32768.0 * 10 ** (dbfs / 20))
    return float(loud[0]) * FRAME_S if loud.size else None


def prompt_offset_s(
    heard: npt.NDArray[np.float64], prompt: npt.NDArray[np.float64], rate: int
) -> float | None:
    """Where ``prompt``'s first sample lies in ``heard`` (s; negative: it began before the
    recording), by normalised cross-correlation of the prompt's first second; None if no lag
    fits well (correlation under 0.8)."""
    template = prompt[:rate]
    lead = len(template)  # lags down to -1 s
    padded = np.concatenate([np.zeros(lead), heard])
    if len(padded) < len(template) or not np.any(template):
        return None
    dots = np.correlate(padded, template, mode="valid")
    energy = np.convolve(padded**2, np.ones(len(template)), mode="valid")
    score = dots / (np.sqrt(np.maximum(energy, 1e-9)) * np.linalg.norm(template))
    best = int(np.argmax(score))
    return (best - lead) / rate if score[best] >= 0.8 else None


def place_call(uri: str, record: Path, listen_s: float, rtp_port: int) -> tuple[bool, float | None]:
    """(answered, the recorder's start after the 200 OK in ms) for one call that listens."""
    cmd = [sys.executable, "-m", "tingyin.telephony.test_caller", uri,
           "--caller", "13900009999", "--record", str(record),
           "--hangup-after", str(listen_s), "--timeout", str(listen_s + 20),
           "--rtp-port", str(rtp_port)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=listen_s + 40)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return False, None
    outcome = json.loads(lines[-1])
    offset = outcome.get("record_offset")
    return bool(outcome.get("answered")), None if offset is None else float(offset) * 1000


def analyse(
    answered: bool, offset_ms: float | None, record: Path,
    prompt: npt.NDArray[np.float64] | None, dbfs: float,
) -> Heard:  # fmt: skip
    if not record.is_file():
        return Heard(answered, offset_ms, None, None)
    pcm, rate = read_pcm(record)
    loud = first_loud_frame_s(pcm, rate, dbfs)
    at = prompt_offset_s(pcm, prompt, rate) if prompt is not None else None
    return Heard(
        answered,
        offset_ms,
        None if loud is None else loud * 1000,
        None if at is None else at * 1000,
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def welcome_prompt(data_dir: Path, language: str) -> npt.NDArray[np.float64] | None:
    """The packaged menu's first prompt as the hub synthesised it (its cache under data_dir)."""
    menu = load_menu()
    text = menu.node(menu.start).prompt
    if not text:
        return None
    pcm, _rate = read_pcm(spoken_prompt(text, language, data_dir / "prompts", "ivr", IVR_SPEED))
    return pcm


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | – | – | – | – |"
    cells = [pct(values, 50), pct(values, 90), max(values), statistics.fmean(values)]
    return f"| {name} | " + " | ".join(f"{v:.0f}" for v in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=1, help="calls up at a time")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted calls first (at least)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--listen", type=float, default=2.0, help="seconds each call stays up")
    parser.add_argument("--threshold-dbfs", type=float, default=-40.0)
    parser.add_argument("--language", default="zh", help="the hub's language (prompt voice)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tingyin-bench-ivr-"))
    data_dir = work / "data"
    data_dir.mkdir()
    os.environ["TINGYIN_ASR__ENABLED"] = "false"
    os.environ["TINGYIN_IVR__ENABLED"] = "true"
    os.environ.pop("TINGYIN_IVR__PROMPT_CACHE", None)  # data_dir/prompts, read below
    os.environ.pop("TINGYIN_IVR__MENU_FILE", None)  # the packaged menu
    proc, host, port, _http = start_hub(data_dir, args.workers)
    uri = f"sip:4008001234@{host}:{port}"
    dbfs = args.threshold_dbfs
    started = time.monotonic()
    try:
        cold: list[float | None] = []
        deadline = time.monotonic() + 120
        while True:
            record = work / f"warmup-{len(cold)}.wav"
            answered, offset = place_call(uri, record, args.listen, CALLER_RTP_BASE)
            heard = analyse(answered, offset, record, None, dbfs)
            cold.append(heard.after_answer(heard.first_loud_ms))
            ready = cold[-1] is not None and cold[-1] < 1000
            if (len(cold) >= args.warmup and ready) or time.monotonic() > deadline:
                break
        warm_s = time.monotonic() - started

        def one(index: int) -> tuple[bool, float | None]:
            rtp_port = CALLER_RTP_BASE + 400 * (index % args.concurrency + 1)
            return place_call(uri, work / f"call-{index:04d}.wav", args.listen, rtp_port)

        run_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            placed = list(pool.map(one, range(args.calls)))
        run_s = time.monotonic() - run_started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    prompt = welcome_prompt(data_dir, args.language)
    results = [
        analyse(answered, offset, work / f"call-{index:04d}.wav", prompt, dbfs)
        for index, (answered, offset) in enumerate(placed)
    ]
    loud = [v for r in results if (v := r.after_answer(r.first_loud_ms)) is not None]
    exact = [v for r in results if (v := r.after_answer(r.prompt_at_ms)) is not None]
    offsets = [r.record_offset_ms for r in results if r.record_offset_ms is not None]
    answered_n = sum(r.answered for r in results)
    silent = sum(1 for r in results if r.answered and r.first_loud_ms is None)
    lead_in = first_loud_frame_s(prompt, 8000, dbfs) if prompt is not None else None
    cold_text = ", ".join("nothing heard" if c is None else f"{c:.0f}" for c in cold)
    print(f"\n{len(cold)} warm-up calls ({warm_s:.1f} s, not counted): {cold_text} ms")
    print(f"{args.calls} calls ({args.concurrency} at a time, {args.workers} workers, ASR off) "
          f"in {run_s:.1f} s: {answered_n} answered, {silent} heard nothing above "
          f"{dbfs:g} dBFS in {args.listen:g} s")  # fmt: skip
    if not loud:
        raise SystemExit("no call heard the prompt")
    print("\n| ms after the 200 OK | p50 | p90 | max | mean |\n|---|---|---|---|---|")
    print(row(f"first 20 ms frame above {dbfs:g} dBFS", loud))
    print(row(f"the prompt's first sample (cross-correlation, {len(exact)} calls)", exact))
    print(row("the caller's recorder started", offsets))
    if lead_in is not None:
        print(
            f"\nthe welcome prompt file's first frame above {dbfs:g} dBFS: {lead_in * 1000:.0f} ms"
        )
    p90 = pct(loud, 90)
    verdict = "met" if p90 <= TARGET_MS else "NOT met"
    print(
        f"target: first audio ≤ {TARGET_MS:.0f} ms after the answer — {verdict} (p90 {p90:.0f} ms)"
    )
    print(f"data: {work}")


if __name__ == "__main__":
    main()
