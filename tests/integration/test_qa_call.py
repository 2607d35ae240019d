"""A real call gets its automatic QA end to end: a pjsua2 customer presses 0 in the IVR, the ACD
rings a pjsua2 agent who answers, both play audio this test made, the customer hangs up; the
hub's QA service then analyses the stereo recording, and the acoustic metrics match what the
test planted: a 5 s silence on both legs, the agent talking over the customer for a stretch
the test computes from where each side's audio landed in the recording.

Live transcription is off here (the test model cannot follow synthetic Mandarin; the transcript
checks are covered by tests/unit/qa with transcript text the tests control).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.support_audio import read_wav_mono, write_wav_mono

pytestmark = pytest.mark.timeout(240)

RATE = 8000
# The customer's audio, from the answer: silent while the IVR and the queue run, then speech
# 10–16 s, the planted silence 16–21 s, speech 21–25 s; they hang up at 26 s.
CUSTOMER_SPEECH = ((10.0, 16.0), (21.0, 25.0))
PLANTED_SILENCE = (16.0, 21.0)
# The agent's audio, from their answer (a few seconds in): speech for 9 s, then quiet. It runs
# past 10 s of the recording, so the agent talks over the customer's first words.
AGENT_SPEECH = (0.0, 9.0)
TOLERANCE_S = 0.25


def speech(
    spans: tuple[tuple[float, float], ...], total: float, seed: int
) -> npt.NDArray[np.int16]:
    """Band-limited noise pulsed like syllables (never silent inside a span: one stretch of
    talking to the detector), unique enough to be found again by cross-correlation."""
    rng = np.random.default_rng(seed)
    n = int(total * RATE)
    out = np.zeros(n)
    t = np.arange(n) / RATE
    noise = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same")
    pulse = 0.2 + 0.8 * np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 2
    for start, end in spans:
        a, b = int(start * RATE), int(end * RATE)
        out[a:b] = noise[a:b] * pulse[a:b] * 9000
    pcm: npt.NDArray[np.int16] = np.clip(out, -32000, 32000).astype(np.int16)
    return pcm


def offset_in(heard: npt.NDArray[np.int16], piece: npt.NDArray[np.int16]) -> float:
    """Where ``piece`` starts inside ``heard``, in seconds (cross-correlation peak)."""
    a, b = heard.astype(np.float64), piece.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return float(np.argmax(corr[: len(a)])) / RATE


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    data_dir = tmp_path_factory.mktemp("qa") / "data"
    env = {"TINGYIN_ASR__ENABLED": "false", "TINGYIN_QA__SETTLE_SECONDS": "1"}
    running = start_hub(data_dir, workers=1, env=env)
    with serving_module(request, running):
        yield running


def test_a_real_call_gets_its_automatic_qa(hub: RunningHub, tmp_path: Path) -> None:
    port = free_port("udp")
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", "it-agent",
         "--phone", f"sip:it-agent@127.0.0.1:{port}", "--lines", "customer",
         "--data-dir", str(hub.data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    customer_audio = speech(CUSTOMER_SPEECH, 26.0, seed=11)
    agent_audio = speech((AGENT_SPEECH,), 20.0, seed=12)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "agent.wav", agent_audio)
    agent = await_test_call(port, play=tmp_path / "agent.wav", timeout=90)
    try:
        auth = {"Authorization": f"Bearer {hub.tokens['agent']}"}  # it-agent
        ready = httpx.post(f"{hub.http_url}/api/agents/me/state", json={"state": "ready"},
                           headers=auth, timeout=10)  # fmt: skip
        assert ready.status_code == 200, ready.text
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900007777",
            play=tmp_path / "customer.wav", press=("1.5:0",), hangup_after=26, wait=False,
            timeout=90,
        )  # fmt: skip
        outcome = caller_outcome(customer, timeout=120)
        caller_outcome(agent, timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert outcome["answered"], outcome
    call = hub.wait_calls_finished(1)[0]

    def proposal() -> dict[str, Any] | None:
        reply = hub.get(f"/api/qa/calls/{call['id']}/auto", role="supervisor")
        return reply.json() if reply.status_code == 200 else None

    auto: dict[str, Any] = hub.wait_for("the automatic QA proposal", proposal, 60)
    m = auto["metrics"]

    # Where each side's audio landed in the recording (customer left, agent right).
    recording = hub.data_dir / "recordings" / call["recording_path"]
    left, _ = read_wav_mono(recording, channel=0)
    right, _ = read_wav_mono(recording, channel=1)
    c0 = offset_in(left, customer_audio[10 * RATE : 14 * RATE]) - 10.0
    a0 = offset_in(right, agent_audio[1 * RATE : 5 * RATE]) - 1.0
    assert -0.1 < c0 < 0.5 and 1.0 < a0 < 9.5, (c0, a0)

    assert m["longest_silence_s"] == pytest.approx(5.0, abs=TOLERANCE_S), m
    assert m["longest_silence_at"] == pytest.approx(PLANTED_SILENCE[0] + c0, abs=TOLERANCE_S)
    expected_overlap = (a0 + AGENT_SPEECH[1]) - (CUSTOMER_SPEECH[0][0] + c0)
    assert len(m["overlaps"]) == 1, m["overlaps"]
    start, end = m["overlaps"][0]
    assert start == pytest.approx(CUSTOMER_SPEECH[0][0] + c0, abs=TOLERANCE_S)
    assert end - start == pytest.approx(expected_overlap, abs=TOLERANCE_S)
    assert m["caller_talk_s"] == pytest.approx(10.0, abs=2 * TOLERANCE_S)
    # Our side talks from the start: the IVR's prompts and the hold music, then the agent.
    agent_talk = a0 + AGENT_SPEECH[1]
    assert m["agent_talk_s"] == pytest.approx(agent_talk, abs=1.0)
    assert m["agent_talk_ratio"] == pytest.approx(agent_talk / (agent_talk + 10.0), abs=0.05)
    assert m["speaking_rate"] > 0 and m["pitch_sd_semitones"] >= 0

    # The proposal: audio checks answered, the agent named, and the call on the review queue.
    found = {f["check"]: f for f in auto["findings"]}
    assert found["dead_air"]["passed"] and found["talk_over"]["passed"]
    assert auto["answers"]["dead_air"] == "yes" and auto["answers"]["listening"] == "yes"
    assert not found["greeting"]["passed"]  # no transcript here
    agents = hub.get("/api/agents", role="supervisor").json()
    assert auto["agent_id"] == next(a["user_id"] for a in agents if a["username"] == "it-agent")
    queue = hub.get("/api/qa/review-queue", role="supervisor").json()
    assert "low_auto" in {q["reason"] for q in queue if q["call_id"] == call["id"]}
