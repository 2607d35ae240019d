"""Automatic QA cost per call minute, on a synthetic stereo call (8 kHz, caller left).

    .venv/bin/python bench/qa.py                 # a 10-minute call, 3 runs
    .venv/bin/python bench/qa.py --minutes 30 --runs 1

The call alternates turns (3–9 s each, a pause of 0.2–2.5 s, now and then a short talk-over)
of speech-like sound (harmonics on a gliding pitch, pulsed at ~4 syllables a second), and has a
transcript of one segment per turn with timed words. Printed: the seconds each stage takes (the
first run includes librosa's one-time JIT warm-up, so it is reported apart), and the cost per
call minute and as a share of real time. The target: well under real time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from tingyin.qa.auto_audio import audio_findings, measure_file
from tingyin.qa.auto_transcript import Utterance, transcript_findings
from tingyin.qa.checks import load_qa_checks
from tingyin.qa.proposal import propose
from tingyin.qa.scorecard import load_scorecard

RATE = 8000
AGENT_TEXT = "您好 很高兴 为您服务 请问 您的 订单号 是 多少 非常抱歉 给您带来不便 30 分钟 内 回电"
CALLER_TEXT = "我的 外卖 还没到 已经 超时 一个 小时 了"


def synth_call(path: Path, minutes: float, seed: int = 7) -> list[Utterance]:
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE)
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    utterances, at, leg = [], 1.0, "caller"
    while at < minutes * 60 - 10:
        seconds = float(rng.uniform(3, 9))
        t = np.arange(int(seconds * RATE)) / RATE
        f0 = 120 if leg == "caller" else 190
        phase = 2 * np.pi * np.cumsum(f0 + 30 * np.sin(2 * np.pi * 0.4 * t)) / RATE
        tone = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
        sound = (0.25 * tone * (0.15 + 0.85 * np.abs(np.sin(4 * np.pi * t)) ** 2)).astype(
            np.float32
        )
        track = left if leg == "caller" else right
        start = int(at * RATE)
        track[start : start + len(sound)] += sound[: n - start]
        text = CALLER_TEXT if leg == "caller" else AGENT_TEXT
        words = text.split()
        step = seconds / len(words)
        utterances.append(
            Utterance(
                "caller" if leg == "caller" else "system",
                at,
                at + seconds,
                text,
                [
                    {"word": w, "start": at + i * step, "end": at + (i + 1) * step}
                    for i, w in enumerate(words)
                ],
            )
        )
        gap = float(rng.uniform(0.2, 2.5)) if rng.random() > 0.1 else -0.8  # a talk-over
        at += seconds + gap
        leg = "agent" if leg == "caller" else "caller"
    pcm = (np.clip(np.stack([left, right], axis=1), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    return utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    card, checks = load_scorecard(), load_qa_checks()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "call.wav"
        made = time.perf_counter()
        utterances = synth_call(path, args.minutes)
        print(
            f"call: {args.minutes:g} min, {len(utterances)} segments, "
            f"{path.stat().st_size / 1e6:.1f} MB WAV (made in {time.perf_counter() - made:.1f} s)"
        )
        runs: list[dict[str, float]] = []
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            metrics = measure_file(path, checks.audio)
            t1 = time.perf_counter()
            findings = transcript_findings(utterances, checks.transcript)
            findings += audio_findings(metrics, checks.audio)
            _, result = propose(card, findings)
            t2 = time.perf_counter()
            times = {"audio": t1 - t0, "transcript+score": t2 - t1, "total": t2 - t0}
            label = "warm-up" if run == 0 else f"run {run}"
            print(f"{label:8s} " + "  ".join(f"{k} {v:.3f} s" for k, v in times.items()))
            if run:
                runs.append(times)
        total = statistics.median(r["total"] for r in runs)
        print(
            f"metrics: silence {metrics.silence_ratio:.0%}, longest {metrics.longest_silence_s} s, "
            f"{len(metrics.overlaps)} talk-overs, agent {metrics.agent_talk_ratio:.0%}, "
            f"rate {metrics.speaking_rate}/s, pitch SD {metrics.pitch_sd_semitones} st; "
            f"auto score {result.total}"
        )
        print(
            f"auto-QA cost: {total / args.minutes * 1000:.0f} ms per call minute "
            f"(median of {len(runs)}), {total / (args.minutes * 60):.2%} of real time"
        )


if __name__ == "__main__":
    main()
