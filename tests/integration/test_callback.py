"""Maximum wait → callback, over real SIP: a pjsua2 customer waits with no agent ready, hears the
offer after the queue's (short) maximum wait, presses 1 and is hung up on politely. Once an
agent is ready the hub calls the customer back through the outbound route — a second pjsua2
process answering there — and, once they answer, rings the agent held for them; the two are
bridged and hear each other. The CDR counts the callback (queue_left outcome ``callback``, a
``callback`` event) on the call that asked, and the call placed is an outbound call answered by
the agent."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.clients import caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import (
    RATE,
    agent_state,
    best_match,
    new_call,
    noise_bursts,
    set_phone,
    set_state,
)
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG

CUSTOMER = "13900007777"
# The customer queue offers a callback after 3 s of waiting; rings and wrap-up short.
QUICK = {
    "ring_seconds = 15": "ring_seconds = 5",
    "wrap_up_seconds = 30": "wrap_up_seconds = 2",
    "max_wait_seconds = 300\noffer_callback = true\nservice_level_seconds = 20":
        "max_wait_seconds = 3\noffer_callback = true\nservice_level_seconds = 2",
}  # fmt: skip


@pytest.fixture(scope="module")
def callback_port() -> int:
    """Where the outbound route reaches the customer's phone for the callback."""
    return free_port("udp")


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, callback_port: int
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("callback")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8")
    for old, new in QUICK.items():
        assert old in text, old
        text = text.replace(old, new, 1)  # the first entry: the customer queue
    (base / "queues.toml").write_text(text, encoding="utf-8")
    env = {"TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
           "TINGYIN_ASR__ENABLED": "false",
           "TINGYIN_OUTBOUND__DIAL_URI": f"sip:{{number}}@127.0.0.1:{callback_port}"}  # fmt: skip
    running = start_hub(base / "data", workers=1, env=env)
    with serving_module(request, running):
        yield running


def phone_on(port: int, *, play: Path, record: Path, hangup_after: float) -> subprocess.Popen[str]:
    """A pjsua2 phone answering on ``port`` that hangs up ``hangup_after`` s after answering."""
    cmd = [sys.executable, "-m", "tingyin.telephony.test_caller", "--answer-on", str(port),
           "--hangup-after", str(hangup_after), "--play", str(play), "--record", str(record),
           "--timeout", "90"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith('{"listening"'):
            return proc
    raise AssertionError(
        f"phone on {port} did not start: {proc.stderr.read() if proc.stderr else ''}"
    )


def events_of(hub: RunningHub, call_id: str, kind: str) -> list[dict[str, Any]]:
    events = hub.get(f"/api/calls/{call_id}").json()["events"]
    return [e["data"] for e in events if e["kind"] == kind]


def test_a_caller_who_waited_too_long_is_called_back_and_talks_to_the_agent(
    hub: RunningHub, tmp_path: Path, callback_port: int
) -> None:
    agent_port = free_port("udp")
    set_phone(hub, "it-agent", agent_port)
    set_state(hub, "it-agent", "not_ready", "break")  # nobody to take the call: it waits
    agent_id = agent_state(hub, "it-agent")["user_id"]
    customer_audio, agent_audio = noise_bursts(14, 6), noise_bursts(14, 7)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "agent.wav", agent_audio)
    before = {c["id"] for c in hub.calls()}

    # 0: to the queue; the offer comes after 3 s of waiting; 1 takes it (pressed every 3 s:
    # keys pressed on hold before the offer are dropped, as are those after it was taken).
    asked = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller=CUSTOMER,
        play=tmp_path / "customer.wav",  # (with nothing to send, its RTP and DTMF stay off)
        press=("1.5:0", "9:1", "12:1", "15:1", "18:1"), hangup_after=40, wait=False, timeout=60,
    )  # fmt: skip
    asked_outcome = caller_outcome(asked, timeout=70)
    call_id = new_call(hub, before)["id"]
    assert asked_outcome["answered"] and asked_outcome["seconds"] < 35, asked_outcome  # hung up
    left = hub.wait_for("the callback counted", lambda: events_of(hub, call_id, "queue_left"), 10)
    assert [x["outcome"] for x in left] == ["callback"]
    assert events_of(hub, call_id, "callback") == []  # nobody free yet: not called back

    # An agent is ready: the customer is called back first, then the agent rings.
    agent = phone_on(agent_port, play=tmp_path / "agent.wav", record=tmp_path / "agent-heard.wav",
                     hangup_after=14)  # fmt: skip
    called_back = phone_on(callback_port, play=tmp_path / "customer.wav",
                           record=tmp_path / "customer-heard.wav", hangup_after=14)  # fmt: skip
    try:
        set_state(hub, "it-agent", "ready")
        back = caller_outcome(called_back, timeout=80)
        talked = caller_outcome(agent, timeout=30)
    finally:
        for proc in (agent, called_back):
            if proc.poll() is None:
                proc.kill()
    assert back["answered"] and talked["answered"], (back, talked)

    (placed,) = hub.wait_for("the callback event", lambda: events_of(hub, call_id, "callback"), 10)
    assert (placed["outcome"], placed["attempt"]) == ("answered", 1)
    new_id = placed["callback_call_id"]
    (callback_call,) = [c for c in hub.wait_calls_finished(2, since=before) if c["id"] == new_id]
    assert (callback_call["direction"], callback_call["dialed_number"]) == ("outbound", CUSTOMER)
    legs = [(x["state"], x["agent_id"]) for x in events_of(hub, new_id, "agent_leg")]
    assert legs[:2] == [("ringing", agent_id), ("answered", agent_id)], legs
    answered = [(x["outcome"], x["agent_id"]) for x in events_of(hub, new_id, "queue_left")]
    assert answered == [("answered", agent_id)]

    # They talked: each heard the other.
    heard_by_agent, _ = read_wav_mono(tmp_path / "agent-heard.wav")
    heard_by_customer, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert best_match(heard_by_agent, customer_audio[10 * RATE : 12 * RATE]) > 0.5
    assert best_match(heard_by_customer, agent_audio[6 * RATE : 8 * RATE]) > 0.5
