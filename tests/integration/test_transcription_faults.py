"""Transcription under faults: a killed ASR worker, and more legs than the CPU may follow live.

The hub here follows at most 2 legs live (``max_live_legs=2``), so three calls at once overload
it; policy: caller legs first, everything else filled post-call from the recording.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.asr_support import (
    check_word_times,
    start_asr_hub,
    two_utterances,
    wait_legs_complete,
)
from tests.integration.clients import caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module
from tests.integration.test_first_call import EventCollector, check_recording

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    running = start_asr_hub(tmp_path_factory.mktemp("asr-faults") / "data", max_live_legs="2")
    with serving_module(request, running):
        yield running


def asr_status(hub: RunningHub) -> dict[str, Any]:
    status: dict[str, Any] = hub.health()["parts"]["asr"]
    return status


def busy_worker(hub: RunningHub) -> dict[str, Any] | None:
    """An ASR worker with a live leg, as /api/health lists it (index, pid, live_legs)."""
    peers = asr_status(hub)["peers"]
    return next((p for p in peers if p["live_legs"] > 0), None)


def sources(body: dict[str, Any]) -> dict[str, str]:
    return {leg["leg"]: leg["source"] for leg in body["legs"]}


def test_killed_asr_worker_mid_call_is_filled_from_the_recording(
    hub: RunningHub, speech_wav: Path, tmp_path: Path
) -> None:
    before = {c["id"] for c in hub.calls()}
    source = two_utterances(speech_wav, tmp_path / "two.wav")
    uri = f"sip:4008003333@{hub.sip_host}:{hub.sip_port}"
    proc = place_test_call(uri, play=source, hangup_after=8.0, wait=False)
    victim = hub.wait_for("a live leg on an ASR worker", lambda: busy_worker(hub), timeout=15)
    os.kill(victim["pid"], signal.SIGKILL)

    assert caller_outcome(proc)["answered"]
    (call,) = hub.wait_calls_finished(1, since=before)
    assert call["status"] == "ended"
    samples = check_recording(hub, call)  # whole: as long as the call, caller not silent
    body = wait_legs_complete(hub, call["id"])
    assert "post" in sources(body).values(), body["legs"]
    assert all(s["source"] == "post" for s in body["segments"] if s["leg"] == "caller")
    assert any(s["leg"] == "caller" for s in body["segments"]), body
    check_word_times(body, len(samples) / 8000)
    status = hub.wait_for("the worker back", lambda: asr_status(hub)["workers"] == 2 or None)
    assert status
    assert asr_status(hub)["worker_losses"] >= 1


def test_overload_keeps_caller_legs_live_and_fills_the_rest_post_call(
    hub: RunningHub, speech_wav: Path, tmp_path: Path
) -> None:
    before = {c["id"] for c in hub.calls()}
    events = EventCollector(hub, role="supervisor")
    source = two_utterances(speech_wav, tmp_path / "two.wav")
    uri = f"sip:4008004444@{hub.sip_host}:{hub.sip_port}"
    procs = [
        place_test_call(uri, play=source, hangup_after=7.0, caller=f"1380013800{i}", wait=False)
        for i in range(3)
    ]
    for proc in procs:
        assert caller_outcome(proc)["answered"]
    calls = hub.wait_calls_finished(3, since=before)
    bodies = [wait_legs_complete(hub, c["id"], timeout=120) for c in calls]
    events.close()

    overloads = [e for e in events.events if e["type"] == "AsrOverloaded"]
    assert overloads, "the overload was not reported"
    assert all(e["capacity"] == 2 for e in overloads)
    live = [leg for body in bodies for leg, src in sources(body).items() if src == "live"]
    post = [leg for body in bodies for leg, src in sources(body).items() if src == "post"]
    # Caller legs first: only caller legs stayed live once the calls overlapped.
    assert live and set(live) == {"caller"}, (live, post)
    assert len(live) + len(post) == 6 and "system" in post
    for call, body in zip(calls, bodies, strict=True):
        check_word_times(body, (check_recording(hub, call).shape[0]) / 8000)
    assert asr_status(hub)["post_call_queue"] == 0


def test_stuck_asr_worker_is_killed_and_its_legs_filled_post_call(
    hub: RunningHub, speech_wav: Path, tmp_path: Path
) -> None:
    hub.wait_for("both ASR workers", lambda: asr_status(hub)["workers"] == 2 or None)
    losses = asr_status(hub)["worker_losses"]
    before = {c["id"] for c in hub.calls()}
    source = two_utterances(speech_wav, tmp_path / "two.wav")
    uri = f"sip:4008005555@{hub.sip_host}:{hub.sip_port}"
    proc = place_test_call(uri, play=source, hangup_after=10.0, wait=False)
    victim = hub.wait_for("a live leg on an ASR worker", lambda: busy_worker(hub), timeout=15)
    os.kill(victim["pid"], signal.SIGSTOP)  # hangs: no status, no results, socket still open
    try:
        assert caller_outcome(proc)["answered"]
        (call,) = hub.wait_calls_finished(1, since=before)
        body = wait_legs_complete(hub, call["id"], timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim["pid"], signal.SIGCONT)
    assert "post" in sources(body).values(), body["legs"]
    assert asr_status(hub)["worker_losses"] > losses
    check_recording(hub, call)
