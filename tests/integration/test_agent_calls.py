"""Calls reach agents: a pjsua2 customer presses 0 in the IVR, waits in the queue, and the ACD
rings the agents' phones (pjsua2 processes answering on loopback) — the longest-idle ready agent
first; one who lets it ring out is skipped and the next one answers. The two are bridged in the
customer's worker: each hears the other, and the recording has the customer on the left and the
agent on the right (checked by correlating each channel with the audio each side played)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import PASSWORD, RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG

RATE = 8000
# Ring an agent 5 s, a short wrap-up; the rest as shipped.
QUICK = {"ring_seconds = 15": "ring_seconds = 5", "wrap_up_seconds = 30": "wrap_up_seconds = 2"}
AGENTS = ("it-agent", "it-agent2")


def noise_bursts(seconds: float, seed: int) -> npt.NDArray[np.int16]:
    """Speech-like audio no two sides share: band-limited noise in 300 ms bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    smooth = np.convolve(noise, np.ones(4) / 4, mode="same")  # below ~2 kHz, as G.711 carries
    gate = (np.arange(n) // int(0.3 * RATE)) % 3 != 2  # 600 ms on, 300 ms off
    pcm: npt.NDArray[np.int16] = (smooth * gate * 6000).astype(np.int16)
    return pcm


def rms(pcm: npt.NDArray[np.int16], start: float, end: float) -> float:
    """Loudness of ``pcm`` between ``start`` and ``end`` seconds (silence: ~0, music: 1000s)."""
    window = pcm[int(start * RATE) : int(end * RATE)].astype(np.float64)
    return float(np.sqrt(np.mean(window**2))) if window.size else 0.0


def best_match(heard: npt.NDArray[np.int16], source: npt.NDArray[np.int16]) -> float:
    """Peak normalised cross-correlation of ``source`` anywhere inside ``heard`` (0…1); the
    sliding energy of ``heard`` from a cumulative sum (fast on long recordings)."""
    a = heard.astype(np.float64)
    b = source.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    sums = np.concatenate(([0.0], np.cumsum(a**2)))
    ends = np.minimum(np.arange(len(a)) + len(b), len(a))
    energy = np.sqrt(np.maximum(sums[ends] - sums[: len(a)], 1e-9) * np.sum(b**2))
    return float(np.max(np.abs(corr[: len(a)]) / energy))


def heard_second(
    heard: npt.NDArray[np.int16], source: npt.NDArray[np.int16], a: int, b: int
) -> float:
    """The best match in ``heard`` of any whole second of ``source`` between seconds a and b.
    One second, not the whole stretch: a frame a jitter buffer dropped or filled on a busy
    machine shifts what follows it, which a long window would count against the match."""
    return max(best_match(heard, source[RATE * i : RATE * (i + 1)]) for i in range(a, b))


@pytest.fixture(scope="module")
def third_port() -> int:
    """Where the outbound route reaches "the merchant" (a pjsua2 process) in the 3-way test."""
    return free_port("udp")


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, third_port: int
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("agents")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8")
    for old, new in QUICK.items():
        assert old in text, old
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
           "TINGYIN_OUTBOUND__DIAL_URI": f"sip:{{number}}@127.0.0.1:{third_port}"}  # fmt: skip
    running = start_hub(data_dir, workers=2, env=env)
    with serving_module(request, running):
        yield running


def agent_token(hub: RunningHub, username: str) -> str:
    reply = httpx.post(f"{hub.http_url}/api/auth/token",
                       data={"username": username, "password": PASSWORD}, timeout=10)  # fmt: skip
    reply.raise_for_status()
    token: str = reply.json()["access_token"]
    return token


def set_phone(hub: RunningHub, username: str, port: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", username,
         "--phone", f"sip:{username}@127.0.0.1:{port}", "--lines", "customer",
         "--data-dir", str(hub.data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def set_state(hub: RunningHub, username: str, state: str, reason: str = "") -> dict[str, Any]:
    body = {"state": state} | ({"reason": reason} if reason else {})
    auth = {"Authorization": f"Bearer {agent_token(hub, username)}"}
    reply = httpx.post(f"{hub.http_url}/api/agents/me/state", json=body, headers=auth, timeout=10)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def agent_state(hub: RunningHub, username: str) -> dict[str, Any]:
    agents: list[dict[str, Any]] = hub.get("/api/agents", role="supervisor").json()
    return next(a for a in agents if a["username"] == username)


def test_ring_no_answer_moves_on_and_the_next_agent_talks_to_the_customer(
    hub: RunningHub, tmp_path: Path
) -> None:
    phones = {name: free_port("udp") for name in AGENTS}
    for name, port in phones.items():
        set_phone(hub, name, port)
    customer_audio, agent_audio = noise_bursts(24, 1), noise_bursts(12, 2)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "agent.wav", agent_audio)
    # The first agent's phone rings and rings; the second answers and talks.
    silent = await_test_call(phones["it-agent"], answer_after=60, timeout=60)
    talker = await_test_call(phones["it-agent2"], play=tmp_path / "agent.wav",
                             record=tmp_path / "agent-heard.wav", timeout=60)  # fmt: skip
    try:
        set_state(hub, "it-agent", "ready")  # ready first: the longest idle, offered first
        set_state(hub, "it-agent2", "ready")
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900006666",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=22, wait=False, timeout=60,
        )  # fmt: skip
        outcome = caller_outcome(customer, timeout=90)
        talked = caller_outcome(talker, timeout=30)
        rang_out = caller_outcome(silent, timeout=30)
    finally:
        for proc in (silent, talker):
            if proc.poll() is None:
                proc.kill()
    assert outcome["answered"] and talked["answered"], (outcome, talked)
    assert not rang_out["answered"]

    call = hub.wait_calls_finished(1)[0]
    detail = hub.get(f"/api/calls/{call['id']}").json()
    legs = [(e["data"]["state"], e["data"]["agent_id"], e["data"]["reason"])
            for e in detail["events"] if e["kind"] == "agent_leg"]  # fmt: skip
    first, second = (agent_state(hub, name)["user_id"] for name in AGENTS)
    assert legs[:2] == [("ringing", first, ""), ("failed", first, "no-answer")], legs
    assert ("answered", second, "") in legs
    left = [e["data"] for e in detail["events"] if e["kind"] == "queue_left"]
    assert [(x["outcome"], x["agent_id"]) for x in left] == [("answered", second)]

    # The agent who let it ring has one missed offer; the one who talked is wrapping up or back.
    assert agent_state(hub, "it-agent")["missed_offers"] == 1
    assert agent_state(hub, "it-agent2")["state"] in ("on_call", "wrap_up", "ready")

    # Each side heard the other; the recording: customer left, agent right.
    heard_by_agent, _ = read_wav_mono(tmp_path / "agent-heard.wav")
    heard_by_customer, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    recording = hub.data_dir / "recordings" / call["recording_path"]
    left_channel, _ = read_wav_mono(recording, channel=0)
    right_channel, _ = read_wav_mono(recording, channel=1)
    piece = agent_audio[RATE : 4 * RATE]  # three seconds the agent said
    assert best_match(heard_by_customer, piece) > 0.5
    assert best_match(right_channel, piece) > 0.5
    assert best_match(left_channel, piece) < 0.2
    said = customer_audio[14 * RATE : 17 * RATE]  # said by the customer once bridged
    assert best_match(heard_by_agent, said) > 0.5
    assert best_match(left_channel, said) > 0.5
    assert best_match(right_channel, said) < 0.2


def new_call(hub: RunningHub, before: set[str]) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        calls = [c for c in hub.calls() if c["id"] not in before]
        return calls[0] if calls else None

    call: dict[str, Any] = hub.wait_for("the customer's call", found, 20)
    return call


def leg_events(hub: RunningHub, call_id: str) -> list[tuple[str, int, str]]:
    events = hub.get(f"/api/calls/{call_id}").json()["events"]
    return [(e["data"]["state"], e["data"]["agent_id"], e["data"]["reason"])
            for e in events if e["kind"] == "agent_leg"]  # fmt: skip


def test_a_blind_transfer_hands_the_customer_to_another_agent(
    hub: RunningHub, tmp_path: Path
) -> None:
    phones = {name: free_port("udp") for name in AGENTS}
    for name, port in phones.items():
        set_phone(hub, name, port)
    first_id, second_id = (agent_state(hub, name)["user_id"] for name in AGENTS)
    customer_audio = noise_bursts(30, 3)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    first = await_test_call(phones["it-agent"], timeout=60)
    # The second agent picks up after 3 s of ringing: the customer waits on hold music meanwhile.
    second = await_test_call(phones["it-agent2"], record=tmp_path / "second-heard.wav",
                             answer_after=3, timeout=60)  # fmt: skip
    before = {c["id"] for c in hub.calls()}
    try:
        set_state(hub, "it-agent2", "not_ready", "break")  # the first agent takes the call
        set_state(hub, "it-agent", "ready")
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900008888",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=24, wait=False, timeout=60,
        )  # fmt: skip
        call_id = new_call(hub, before)["id"]
        talking = ("answered", first_id, "")
        hub.wait_for("the first agent talking", lambda: talking in leg_events(hub, call_id), 30)
        set_state(hub, "it-agent2", "ready")
        auth = {"Authorization": f"Bearer {agent_token(hub, 'it-agent')}"}
        url = f"{hub.http_url}/api/calls/{call_id}/transfer"
        refused = httpx.post(url, json={"queue": "nowhere"}, headers=auth, timeout=10)
        assert refused.status_code == 422, refused.text
        moved = httpx.post(url, json={"agent_id": second_id}, headers=auth, timeout=10)
        assert moved.status_code == 202, moved.text
        talking = ("answered", second_id, "")
        hub.wait_for("the second agent talking", lambda: talking in leg_events(hub, call_id), 30)
        outcome = caller_outcome(customer, timeout=90)
        caller_outcome(first, timeout=30)
        caller_outcome(second, timeout=30)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert outcome["answered"] and outcome["seconds"] > 20  # the customer stayed on throughout
    legs = leg_events(hub, call_id)
    assert ("ended", first_id, "transferred") in legs
    assert legs.index(("ended", first_id, "transferred")) < legs.index(("answered", second_id, ""))
    heard, _ = read_wav_mono(tmp_path / "second-heard.wav")
    assert best_match(heard, customer_audio[20 * RATE : 22 * RATE]) > 0.5
    # Between the first agent's release and the second's answer the customer heard hold music.
    detail = hub.get(f"/api/calls/{call_id}").json()
    events, answered_at = detail["events"], datetime.fromisoformat(detail["answered_at"])

    def heard_at(state: str, agent_id: int) -> float:
        at = next(e["at"] for e in events if e["kind"] == "agent_leg"
                  and (e["data"]["state"], e["data"]["agent_id"]) == (state, agent_id))  # fmt: skip
        offset = float(outcome["record_offset"])
        return (datetime.fromisoformat(at) - answered_at).total_seconds() - offset

    released, picked_up = heard_at("ended", first_id), heard_at("answered", second_id)
    assert picked_up - released > 2.5, (released, picked_up)
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert rms(customer_heard, released + 0.3, picked_up - 0.2) > 300
    assert rms(customer_heard, picked_up + 0.5, picked_up + 3) < 100  # (a silent agent) it stopped


def test_a_three_way_call_with_the_merchant(
    hub: RunningHub, tmp_path: Path, third_port: int
) -> None:
    agent_port = free_port("udp")
    set_phone(hub, "it-agent", agent_port)
    agent_id = agent_state(hub, "it-agent")["user_id"]
    customer_audio, merchant_audio = noise_bursts(30, 4), noise_bursts(14, 5)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "merchant.wav", merchant_audio)
    agent = await_test_call(agent_port, record=tmp_path / "agent-heard.wav", timeout=60)
    merchant = await_test_call(third_port, play=tmp_path / "merchant.wav",
                               record=tmp_path / "merchant-heard.wav", timeout=60)  # fmt: skip
    before = {c["id"] for c in hub.calls()}
    try:
        set_state(hub, "it-agent2", "not_ready", "break")
        set_state(hub, "it-agent", "ready")
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900009999",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=24, wait=False, timeout=60,
        )  # fmt: skip
        call_id = new_call(hub, before)["id"]
        talking = ("answered", agent_id, "")
        hub.wait_for("the agent talking", lambda: talking in leg_events(hub, call_id), 30)
        auth = {"Authorization": f"Bearer {agent_token(hub, 'it-agent')}"}
        url = f"{hub.http_url}/api/calls/{call_id}/parties"
        bad = httpx.post(url, json={"number": "12"}, headers=auth, timeout=10)
        assert bad.status_code == 422, bad.text
        added = httpx.post(url, json={"number": "010-6234-5678"}, headers=auth, timeout=10)
        assert added.status_code == 202 and added.json()["number"] == "010****5678", added.text

        def joined() -> bool:
            events = hub.get(f"/api/calls/{call_id}").json()["events"]
            return any(e["kind"] == "party_leg" and e["data"]["state"] == "answered"
                       for e in events)  # fmt: skip

        hub.wait_for("the merchant on the call", joined, 30)
        outcome = caller_outcome(customer, timeout=90)
        caller_outcome(agent, timeout=30)
        caller_outcome(merchant, timeout=30)
    finally:
        for proc in (agent, merchant):
            if proc.poll() is None:
                proc.kill()
    assert outcome["answered"]
    # The merchant heard the customer; the customer and the agent heard the merchant; it is in
    # the recording with our side (right).
    # Everyone hears a mix of the other two: one-second windows, the best of three.
    for heard in ("customer-heard.wav", "agent-heard.wav"):
        pcm, _ = read_wav_mono(tmp_path / heard)
        assert heard_second(pcm, merchant_audio, 3, 6) > 0.5, heard
    merchant_heard, _ = read_wav_mono(tmp_path / "merchant-heard.wav")
    assert heard_second(merchant_heard, customer_audio, 17, 20) > 0.5
    (call,) = [c for c in hub.calls() if c["id"] == call_id]
    right, _ = read_wav_mono(hub.data_dir / "recordings" / call["recording_path"], channel=1)
    assert heard_second(right, merchant_audio, 3, 6) > 0.5
