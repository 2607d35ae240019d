"""Supervisors on a live call from SIP phones, with ChanSpy-style feature codes: a pjsua2
customer talks to a pjsua2 agent phone (extension 8101); supervisor A's pjsua2 phone dials
*1 8101 (listen), presses 5 (whisper: the agent hears it, the customer does not, the recording's
agent channel has it), then 6 (barge: both hear it); supervisor B's phone listens at the same
time. Kamailio spreads the INVITEs round robin over two media workers, so one supervisor lands
on the call's own worker and the other on the other worker, whose audio the hub relays: both
paths are exercised and both supervisors hear the call. Every mode and the end are audited;
an agent's phone dialling a feature code gets 403, an unknown extension 404.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import best_match, heard_second, noise_bursts, set_state
from tests.integration.test_monitor import ended_call, talk_then_quiet, talking_call
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG

RATE = 8000
AGENT_EXTENSION = "8101"


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("monitor-sip")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8").replace(
        "wrap_up_seconds = 30", "wrap_up_seconds = 2"
    )
    (base / "queues.toml").write_text(text, encoding="utf-8")
    env = {"TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
           "TINGYIN_ASR__ENABLED": "false"}  # fmt: skip
    running = start_hub(base / "data", workers=2, env=env)
    with serving_module(request, running):
        yield running


def profile(hub: RunningHub, username: str, *options: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", username, *options,
         "--data-dir", str(hub.data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def spy(hub: RunningHub, code: str, caller: str, **kwargs: Any) -> subprocess.Popen[str]:
    return place_test_call(f"sip:{code}@{hub.sip_host}:{hub.sip_port}", caller=caller,
                           wait=False, timeout=60, **kwargs)  # fmt: skip


def whisper_then_barge(whisper: np.ndarray[Any, Any], barge: np.ndarray[Any, Any]) -> Any:
    """Supervisor A's microphone: quiet 9 s, the whisper (3 s), quiet 3 s, the barge (3 s)."""
    quiet = np.zeros(3 * RATE, dtype=np.int16)
    return np.concatenate([quiet, quiet, quiet, whisper, quiet, barge, quiet])


def test_feature_codes_listen_whisper_barge_from_two_workers(
    hub: RunningHub, tmp_path: Path
) -> None:
    customer_audio, agent_audio = talk_then_quiet(51), talk_then_quiet(52)
    whisper, barge = noise_bursts(3, 53), noise_bursts(3, 54)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "agent.wav", agent_audio)
    write_wav_mono(tmp_path / "boss.wav", whisper_then_barge(whisper, barge))
    port = free_port("udp")
    profile(hub, "it-agent", "--extension", AGENT_EXTENSION, "--lines", "customer",
            "--phone", f"sip:it-agent@127.0.0.1:{port}")  # fmt: skip
    profile(hub, "it-supervisor", "--extension", "2001")
    profile(hub, "it-qa", "--phone", "sip:2002@127.0.0.1:5999")
    agent_phone = await_test_call(port, play=tmp_path / "agent.wav",
                                  record=tmp_path / "agent-heard.wav", timeout=90)  # fmt: skip
    set_state(hub, "it-agent", "ready")
    customer = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900006666",
        play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
        press=("1.5:0",), hangup_after=32, wait=False, timeout=60,
    )  # fmt: skip
    try:
        call_id = hub.wait_for("the agent on the call", lambda: talking_call(hub), 30)
        # A listens, then whispers (5) once both sides have fallen quiet, then barges in (6).
        boss_a = spy(hub, f"*1{AGENT_EXTENSION}", "2001", play=tmp_path / "boss.wav",
                     record=tmp_path / "boss-a-heard.wav", press=("8:5", "14:6"),
                     hangup_after=20)  # fmt: skip
        boss_b = spy(hub, f"*1{AGENT_EXTENSION}", "2002", record=tmp_path / "boss-b-heard.wav",
                     hangup_after=8)  # fmt: skip
        heard_a, heard_b = caller_outcome(boss_a, 60), caller_outcome(boss_b, 60)
    finally:
        outcome = caller_outcome(customer, 60)
    assert outcome["answered"], outcome
    assert caller_outcome(agent_phone, timeout=30)["answered"]
    assert heard_a["answered"] and heard_b["answered"], (heard_a, heard_b)
    assert heard_a["dtmf_sent"] == "56", heard_a

    for name in ("boss-a-heard.wav", "boss-b-heard.wav"):
        heard, _ = read_wav_mono(tmp_path / name)
        assert heard_second(heard, customer_audio, 4, 9) > 0.6, f"{name}: the caller"
        assert heard_second(heard, agent_audio, 1, 6) > 0.6, f"{name}: the agent"

    agent_heard, _ = read_wav_mono(tmp_path / "agent-heard.wav")
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert heard_second(agent_heard, whisper, 0, 2) > 0.6, "the agent hears the whisper"
    assert (
        max(best_match(customer_heard, whisper[i * RATE : (i + 1) * RATE]) for i in range(2)) < 0.3
    ), "the customer does not"
    assert heard_second(agent_heard, barge, 0, 2) > 0.6, "barge: the agent hears it"
    assert heard_second(customer_heard, barge, 0, 2) > 0.6, "barge: and so does the customer"

    call = hub.wait_for("the recording", lambda: ended_call(hub, call_id), 30)
    right, _ = read_wav_mono(hub.data_dir / "recordings" / str(call["recording_path"]), channel=1)
    assert heard_second(right, whisper, 0, 2) > 0.6, "the whisper is on the agent's channel"

    # Round robin put one phone on the call's own worker and the other on the other worker.
    log = (hub.data_dir / "hub.log").read_text(errors="replace")
    assert "(listen, same worker)" in log and "(listen, relayed)" in log, hub.logs()

    audit = hub.get("/api/audit", role="admin", action="call.monitor").json()
    rows = [r for r in audit if r["object_id"] == call_id and r["detail"].get("via") == "sip"]
    assert sorted(r["detail"]["mode"] for r in rows) == ["barge", "listen", "listen", "whisper"]
    ends = hub.get("/api/audit", role="admin", action="call.monitor.end").json()
    mine = [r for r in ends if r["object_id"] == call_id and r["detail"].get("via") == "sip"]
    assert len(mine) == 2, ends
    assert max(r["detail"]["seconds"] for r in mine) > 15, mine


def test_an_agent_phone_is_refused_and_an_unknown_extension_is_not_found(
    hub: RunningHub,
) -> None:
    profile(hub, "it-agent", "--extension", AGENT_EXTENSION)
    profile(hub, "it-supervisor", "--extension", "2001")
    refused = caller_outcome(spy(hub, "*18101", AGENT_EXTENSION, hangup_after=3), 30)
    assert not refused["answered"] and refused["status"] == 403, refused
    missing = caller_outcome(spy(hub, "*19999", "2001", hangup_after=3), 30)
    assert not missing["answered"] and missing["status"] == 404, missing
    idle = caller_outcome(spy(hub, "*28101", "2001", hangup_after=3), 30)
    assert not idle["answered"] and idle["status"] == 404, idle  # the agent is on no call


def test_qa_may_listen_but_not_whisper_by_phone(hub: RunningHub) -> None:
    profile(hub, "it-qa", "--phone", "sip:2002@127.0.0.1:5999")
    refused = caller_outcome(spy(hub, "*28101", "2002", hangup_after=3), 30)
    assert not refused["answered"] and refused["status"] == 403, refused
