"""Attended (consult) transfer and blind transfer to an outside number, with pjsua2 processes
as the customer, the agents' phones and the outside party.

Consult: agent A talks to the customer, consults agent B (the customer holds with music and
hears neither), then completes: the customer and B talk, A's leg ends "transferred", and the
recording's right channel carries B. Cancel: B's leg ends and the customer talks to A again.
Outside number: rung through the outbound route; A leaves, the customer and the outside party
talk, and the customer's call ends when that party hangs up. Checks correlate what each side
heard with the audio each side played (``best_match``), as in test_agent_calls."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import PASSWORD, RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import (
    QUICK,
    RATE,
    agent_state,
    agent_token,
    best_match,
    heard_second,
    leg_events,
    new_call,
    noise_bursts,
    rms,
    set_phone,
    set_state,
)
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG
from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.probe import HeadlessSoftphone

AGENTS = ("it-agent", "it-agent2")
LOOPBACK = ["127.0.0.1"]  # the softphone's ICE, both ends (as in test_softphone)


@pytest.fixture(scope="module")
def outside_port() -> int:
    """Where the outbound route reaches the outside number (a pjsua2 process)."""
    return free_port("udp")


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, outside_port: int
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("consult")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8")
    for old, new in QUICK.items():
        text = text.replace(old, new)
    (base / "queues.toml").write_text(text, encoding="utf-8")
    data_dir = base / "data"
    data_dir.mkdir()
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "users", "add", "it-agent2", "--role", "agent",
         "--data-dir", str(data_dir)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    env = {"TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
           "TINGYIN_ASR__ENABLED": "false",
           "TINGYIN_SOFTPHONE__ICE_ADDRESSES": json.dumps(LOOPBACK),
           "TINGYIN_OUTBOUND__DIAL_URI": f"sip:{{number}}@127.0.0.1:{outside_port}"}  # fmt: skip
    running = start_hub(data_dir, workers=2, env=env)
    pin_host_addresses(LOOPBACK)
    with serving_module(request, running):
        yield running


def events_of(hub: RunningHub, call_id: str, kind: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = hub.get(f"/api/calls/{call_id}").json()["events"]
    return [e for e in events if e["kind"] == kind]


def first_event(hub: RunningHub, call_id: str, kind: str, state: str) -> dict[str, Any]:
    return next(e for e in events_of(hub, call_id, kind) if e["data"]["state"] == state)


def consult_states(hub: RunningHub, call_id: str) -> list[tuple[str, str]]:
    return [
        (e["data"]["state"], e["data"]["reason"]) for e in events_of(hub, call_id, "consult_leg")
    ]


class Clock:
    """Seconds into the customer's own recording of a moment the CDR logged."""

    def __init__(self, hub: RunningHub, call_id: str, outcome: dict[str, Any]) -> None:
        detail = hub.get(f"/api/calls/{call_id}").json()
        self.answered = datetime.fromisoformat(detail["answered_at"])
        self.offset = float(outcome["record_offset"])

    def at(self, event: dict[str, Any]) -> float:
        return (datetime.fromisoformat(event["at"]) - self.answered).total_seconds() - self.offset


def post(hub: RunningHub, path: str, username: str, body: Any = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {agent_token(hub, username)}"}
    return httpx.post(f"{hub.http_url}{path}", json=body, headers=auth, timeout=10)


def customer_with_agent_a(
    hub: RunningHub, tmp_path: Path, audio_seconds: float, hangup_after: float
) -> tuple[subprocess.Popen[str], str]:
    """A customer's call the ACD gave to it-agent (it-agent2 on a break meanwhile)."""
    before = {c["id"] for c in hub.calls()}

    def free() -> bool:  # the last test's calls over
        return all(agent_state(hub, n)["state"] not in ("ringing", "on_call") for n in AGENTS)

    hub.wait_for("both agents off their last call", free, 20)
    set_state(hub, "it-agent2", "not_ready", "break")
    set_state(hub, "it-agent", "ready")
    write_wav_mono(tmp_path / "customer.wav", noise_bursts(audio_seconds, 11))
    customer = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900007777",
        play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
        press=("1.5:0",), hangup_after=hangup_after, wait=False, timeout=90,
    )  # fmt: skip
    call_id = new_call(hub, before)["id"]
    first = agent_state(hub, "it-agent")["user_id"]
    talking = ("answered", first, "")
    hub.wait_for("agent A talking", lambda: talking in leg_events(hub, call_id), 30)
    return customer, call_id


def consult_b(hub: RunningHub, call_id: str) -> dict[str, Any]:
    set_state(hub, "it-agent2", "ready")
    second = agent_state(hub, "it-agent2")["user_id"]
    url = f"/api/calls/{call_id}/consult"
    early = post(hub, f"{url}/complete", "it-agent")
    assert early.status_code == 409, early.text  # nothing to complete yet
    started = post(hub, url, "it-agent", {"agent_id": second})
    assert started.status_code == 202, started.text

    def answered() -> dict[str, Any] | None:
        found = [e for e in events_of(hub, call_id, "consult_leg")
                 if e["data"]["state"] == "answered"]  # fmt: skip
        return found[0] if found else None

    event: dict[str, Any] = hub.wait_for("agent B answering the consult", answered, 30)
    hub.wait_for("agent B on the call", lambda: agent_state(hub, "it-agent2")["state"] == "on_call")
    return event


def test_a_consult_then_the_colleague_takes_the_customer(hub: RunningHub, tmp_path: Path) -> None:
    phones = {name: free_port("udp") for name in AGENTS}
    for name, port in phones.items():
        set_phone(hub, name, port)
    first, second = (agent_state(hub, name)["user_id"] for name in AGENTS)
    a_audio, b_audio = noise_bursts(40, 12), noise_bursts(40, 13)
    write_wav_mono(tmp_path / "a.wav", a_audio)
    write_wav_mono(tmp_path / "b.wav", b_audio)
    phone_a = await_test_call(phones["it-agent"], play=tmp_path / "a.wav",
                              record=tmp_path / "a-heard.wav", timeout=90)  # fmt: skip
    phone_b = await_test_call(phones["it-agent2"], play=tmp_path / "b.wav",
                              record=tmp_path / "b-heard.wav", answer_after=1,
                              timeout=90)  # fmt: skip
    try:
        customer, call_id = customer_with_agent_a(hub, tmp_path, 36, hangup_after=30)
        consulted = consult_b(hub, call_id)
        time.sleep(6)  # A and B talk; the customer holds
        done = post(hub, f"/api/calls/{call_id}/consult/complete", "it-agent")
        assert done.status_code == 202, done.text
        taken = ("answered", second, "")
        hub.wait_for("agent B with the customer", lambda: taken in leg_events(hub, call_id), 15)
        outcome = caller_outcome(customer, timeout=90)
        a_outcome = caller_outcome(phone_a, timeout=30)
        caller_outcome(phone_b, timeout=30)
    finally:
        for proc in (phone_a, phone_b):
            if proc.poll() is None:
                proc.kill()
    assert outcome["answered"] and outcome["seconds"] > 28  # the customer stayed on
    assert a_outcome["answered"] and a_outcome["seconds"] < outcome["seconds"] - 5
    assert [s for s, _ in consult_states(hub, call_id)] == ["ringing", "answered", "completed"]
    legs = leg_events(hub, call_id)
    handed = legs.index(("ended", first, "transferred"))
    assert handed < legs.index(("answered", second, ""))
    assert legs[-1] == ("ended", second, "customer-hangup")
    assert agent_state(hub, "it-agent")["state"] in ("wrap_up", "ready")

    # When: seconds into each side's audio. A's and B's players start as their calls connect.
    clock = Clock(hub, call_id, outcome)
    a_answered = first_event(hub, call_id, "agent_leg", "answered")
    completed = first_event(hub, call_id, "consult_leg", "completed")
    consult_at, complete_at = clock.at(consulted), clock.at(completed)
    assert complete_at - consult_at > 5

    # During the consult A and B heard each other; the customer heard music, not them.
    a_said = int((consult_at - clock.at(a_answered) + 1.5) * RATE)
    a_piece = a_audio[a_said : a_said + 3 * RATE]
    b_piece = b_audio[int(1.5 * RATE) : int(4.5 * RATE)]  # said 1.5–4.5 s into the consult
    b_heard, _ = read_wav_mono(tmp_path / "b-heard.wav")
    a_heard, _ = read_wav_mono(tmp_path / "a-heard.wav")
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert best_match(b_heard, a_piece) > 0.5
    assert best_match(a_heard, b_piece) > 0.5
    assert best_match(customer_heard, a_piece) < 0.2
    assert best_match(customer_heard, b_piece) < 0.2
    assert rms(customer_heard, consult_at + 0.5, complete_at - 0.5) > 300  # hold music

    # After completion the customer and B talk; B is on the recording's right channel.
    b_later = int((complete_at - consult_at + 2) * RATE)
    b_piece_after = b_audio[b_later : b_later + 3 * RATE]
    assert best_match(customer_heard, b_piece_after) > 0.5
    customer_audio, _ = read_wav_mono(tmp_path / "customer.wav")
    said = int((complete_at + 2) * RATE)
    assert best_match(b_heard, customer_audio[said : said + 3 * RATE]) > 0.5
    (call,) = [c for c in hub.calls() if c["id"] == call_id]
    recording = hub.data_dir / "recordings" / call["recording_path"]
    right, _ = read_wav_mono(recording, channel=1)
    left, _ = read_wav_mono(recording, channel=0)
    assert best_match(right, b_piece_after) > 0.5
    assert best_match(left, b_piece_after) < 0.2
    assert best_match(right, b_piece) < 0.2  # the colleagues' consult is not on the recording


def test_a_cancelled_consult_brings_the_customer_back_to_the_agent(
    hub: RunningHub, tmp_path: Path
) -> None:
    phones = {name: free_port("udp") for name in AGENTS}
    for name, port in phones.items():
        set_phone(hub, name, port)
    second = agent_state(hub, "it-agent2")["user_id"]
    a_audio = noise_bursts(40, 14)
    write_wav_mono(tmp_path / "a.wav", a_audio)
    phone_a = await_test_call(phones["it-agent"], play=tmp_path / "a.wav", timeout=90)
    phone_b = await_test_call(phones["it-agent2"], timeout=90)
    try:
        customer, call_id = customer_with_agent_a(hub, tmp_path, 30, hangup_after=24)
        consulted = consult_b(hub, call_id)
        time.sleep(3)
        cancel = post(hub, f"/api/calls/{call_id}/consult/cancel", "it-agent")
        assert cancel.status_code == 202, cancel.text
        hub.wait_for("the consult over", lambda: consult_states(hub, call_id)[-1][0] == "ended")
        outcome = caller_outcome(customer, timeout=90)
        b_outcome = caller_outcome(phone_b, timeout=30)
        caller_outcome(phone_a, timeout=30)
    finally:
        for proc in (phone_a, phone_b):
            if proc.poll() is None:
                proc.kill()
    assert outcome["answered"] and outcome["seconds"] > 22
    assert b_outcome["answered"]
    assert consult_states(hub, call_id) == [
        ("ringing", ""),
        ("answered", ""),
        ("ended", "cancelled"),
    ]
    assert agent_state(hub, "it-agent2")["state"] in ("wrap_up", "ready")
    assert second not in [agent for _, agent, _ in leg_events(hub, call_id)]
    clock = Clock(hub, call_id, outcome)
    ended = events_of(hub, call_id, "consult_leg")[-1]
    back_at = clock.at(ended)
    a_answered = first_event(hub, call_id, "agent_leg", "answered")
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    a_said = int((back_at - clock.at(a_answered) + 2) * RATE)
    assert best_match(customer_heard, a_audio[a_said : a_said + 3 * RATE]) > 0.5  # A again
    assert rms(customer_heard, clock.at(consulted) + 0.5, back_at - 0.5) > 300  # music meanwhile


def answer_then_hang_up(port: int, play: Path, record: Path, after: float) -> subprocess.Popen[str]:
    """The outside party: answers on ``port``, plays ``play``, hangs up ``after`` s later."""
    cmd = [sys.executable, "-m", "tingyin.telephony.test_caller", "--answer-on", str(port),
           "--hangup-after", str(after), "--play", str(play), "--record", str(record),
           "--timeout", "90"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith('{"listening"'):
            return proc
    raise AssertionError("the outside phone did not start")


def test_a_blind_transfer_to_an_outside_number(
    hub: RunningHub, tmp_path: Path, outside_port: int
) -> None:
    agent_port = free_port("udp")
    set_phone(hub, "it-agent", agent_port)
    first = agent_state(hub, "it-agent")["user_id"]
    outside_audio = noise_bursts(20, 15)
    write_wav_mono(tmp_path / "outside.wav", outside_audio)
    phone_a = await_test_call(agent_port, timeout=90)
    outside = answer_then_hang_up(outside_port, tmp_path / "outside.wav",
                                  tmp_path / "outside-heard.wav", after=8)  # fmt: skip
    try:
        customer, call_id = customer_with_agent_a(hub, tmp_path, 45, hangup_after=40)
        url = f"/api/calls/{call_id}/transfer"
        assert post(hub, url, "it-agent", {"number": "12"}).status_code == 422
        sent = post(hub, url, "it-agent", {"number": "139 1234 5678"})
        assert sent.status_code == 202 and sent.json()["number"] == "139****5678", sent.text
        outcome = caller_outcome(customer, timeout=90)
        outside_outcome = caller_outcome(outside, timeout=30)
        caller_outcome(phone_a, timeout=30)
    finally:
        for proc in (phone_a, outside):
            if proc.poll() is None:
                proc.kill()
    assert outside_outcome["answered"]
    # The outside party hung up after 8 s: the customer's call ended with it, long before 40 s.
    assert outcome["answered"] and outcome["seconds"] < 30, outcome
    assert ("ended", first, "transferred") in leg_events(hub, call_id)
    parties = [
        (e["data"]["state"], e["data"]["number"]) for e in events_of(hub, call_id, "party_leg")
    ]
    assert parties[:2] == [("ringing", "139****5678"), ("answered", "")], parties
    assert "13912345678" not in hub.logs()  # the full number is never logged
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert best_match(customer_heard, outside_audio[2 * RATE : 5 * RATE]) > 0.5
    outside_heard, _ = read_wav_mono(tmp_path / "outside-heard.wav")
    customer_audio, _ = read_wav_mono(tmp_path / "customer.wav")
    clock = Clock(hub, call_id, outcome)
    joined = first_event(hub, call_id, "party_leg", "answered")
    said = int((clock.at(joined) + 1.5) * RATE)
    assert best_match(outside_heard, customer_audio[said : said + 3 * RATE]) > 0.5


def test_a_colleague_consulted_answers_in_the_browser(hub: RunningHub, tmp_path: Path) -> None:
    """The consult leg reaches a browser softphone like an offer: it rings in the page, the
    colleague answers there, and after completion talks to the customer."""
    agent_port = free_port("udp")
    set_phone(hub, "it-agent", agent_port)
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", "it-agent2", "--phone", "browser",
         "--lines", "customer", "--data-dir", str(hub.data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    first, second = (agent_state(hub, name)["user_id"] for name in AGENTS)
    b_audio = noise_bursts(20, 16)
    phone_a = await_test_call(agent_port, timeout=90)

    async def scenario() -> tuple[HeadlessSoftphone, dict[str, Any], str]:
        phone = HeadlessSoftphone()
        await phone.connect(hub.http_url, agent_token(hub, "it-agent2"))
        await phone.wait_state("idle", 10)
        customer, call_id = await asyncio.to_thread(customer_with_agent_a, hub, tmp_path, 30, 24)
        try:
            await asyncio.to_thread(set_state, hub, "it-agent2", "ready")
            url = f"/api/calls/{call_id}/consult"
            started = await asyncio.to_thread(post, hub, url, "it-agent", {"agent_id": second})
            assert started.status_code == 202, started.text
            await phone.wait_state("ringing", 20)
            await phone.send("answer_call")
            await phone.wait_state("talking", 10)
            phone.mic.play(b_audio)
            await asyncio.sleep(4)
            done = await asyncio.to_thread(post, hub, f"{url}/complete", "it-agent")
            assert done.status_code == 202, done.text
            await asyncio.sleep(6)
        finally:
            outcome = await asyncio.to_thread(caller_outcome, customer, 90)
            await phone.wait_state("idle", 10)
            await phone.close()
        return phone, outcome, call_id

    try:
        phone, outcome, call_id = asyncio.run(scenario())
        caller_outcome(phone_a, timeout=30)
    finally:
        if phone_a.poll() is None:
            phone_a.kill()
    assert outcome["answered"] and outcome["seconds"] > 22
    assert [s for s, _ in consult_states(hub, call_id)] == ["ringing", "answered", "completed"]
    legs = leg_events(hub, call_id)
    assert legs.index(("ended", first, "transferred")) < legs.index(("answered", second, ""))
    # The colleague's microphone: not to the customer during the consult (0–4 s), then it is.
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert heard_second(customer_heard, b_audio, 1, 3) < 0.2
    assert heard_second(customer_heard, b_audio, 6, 9) > 0.5
    (call,) = [c for c in hub.calls() if c["id"] == call_id]
    right, _ = read_wav_mono(hub.data_dir / "recordings" / call["recording_path"], channel=1)
    assert heard_second(right, b_audio, 6, 9) > 0.5
    customer_audio, _ = read_wav_mono(tmp_path / "customer.wav")
    clock = Clock(hub, call_id, outcome)
    handed = clock.at(first_event(hub, call_id, "consult_leg", "completed"))
    later = int(handed) + 2
    assert heard_second(phone.heard_pcm(), customer_audio, later, later + 3) > 0.5
