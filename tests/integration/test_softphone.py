"""A browser agent's softphone, driven by the headless softphone (aiortc, as the page does it):
a pjsua2 customer presses 0, the ACD rings the agent's softphone (only once it is connected),
the agent answers over /ws/softphone and they talk through the customer's worker; hold plays
music to the customer, DTMF reaches the customer's phone, hang-up ends the call. The recording
has the customer left and the softphone's microphone right.

ICE is pinned to 127.0.0.1 on both ends (``softphone.ice_addresses`` in the hub, the same in
this process), so WebRTC traffic stays on loopback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import PASSWORD, RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import agent_state, best_match, heard_second, noise_bursts
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG
from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.probe import HeadlessSoftphone
from tingyin.telephony.prompts import write_hold_music

AGENT = "it-agent"
LOOPBACK = ["127.0.0.1"]
RECONNECT_S = 6


@pytest.fixture(scope="module")
def customer_port() -> int:
    """Where the outbound route reaches "the customer" (a pjsua2 process) for calls out."""
    return free_port("udp")


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, customer_port: int
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("softphone")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8").replace(
        "wrap_up_seconds = 30", "wrap_up_seconds = 2"
    )
    (base / "queues.toml").write_text(text, encoding="utf-8")
    data_dir = base / "data"
    data_dir.mkdir()
    env = {"TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
           "TINGYIN_ASR__ENABLED": "false",
           "TINGYIN_SOFTPHONE__ICE_ADDRESSES": json.dumps(LOOPBACK),
           "TINGYIN_SOFTPHONE__RECONNECT_SECONDS": str(RECONNECT_S),
           "TINGYIN_OUTBOUND__DIAL_URI": f"sip:{{number}}@127.0.0.1:{customer_port}"}  # fmt: skip
    running = start_hub(data_dir, workers=2, env=env)
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", AGENT, "--phone", "browser",
         "--lines", "customer", "--data-dir", str(data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    pin_host_addresses(LOOPBACK)
    with serving_module(request, running):
        yield running


def token(hub: RunningHub) -> str:
    reply = httpx.post(f"{hub.http_url}/api/auth/token",
                       data={"username": AGENT, "password": PASSWORD}, timeout=10)  # fmt: skip
    reply.raise_for_status()
    value: str = reply.json()["access_token"]
    return value


def set_ready(hub: RunningHub) -> None:
    auth = {"Authorization": f"Bearer {token(hub)}"}
    reply = httpx.post(f"{hub.http_url}/api/agents/me/state", json={"state": "ready"},
                       headers=auth, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text


def test_softphone_answers_holds_sends_keys_and_hangs_up(hub: RunningHub, tmp_path: Path) -> None:
    customer_audio, agent_audio = noise_bursts(30, 11), noise_bursts(5, 12)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    set_ready(hub)

    async def scenario() -> tuple[HeadlessSoftphone, dict[str, object]]:
        phone = HeadlessSoftphone()
        await phone.connect(hub.http_url, token(hub))
        await phone.wait_state("idle", 10)
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900007777",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=40, wait=False, timeout=60,
        )  # fmt: skip
        try:
            ringing = await phone.wait_state("ringing", 40)
            await phone.send("answer_call")
            await phone.wait_state("talking", 10)
            phone.mic.play(agent_audio)
            await asyncio.sleep(6)
            await phone.send("dtmf", digits="5#")
            await phone.send("hold", on=True)
            await phone.wait_state("held", 10)
            await asyncio.sleep(3)
            await phone.send("hold", on=False)
            await phone.wait_state("talking", 10)
            await asyncio.sleep(1)
            await phone.send("hangup")
            await phone.wait_state("idle", 10)
        finally:
            outcome = await asyncio.to_thread(caller_outcome, customer, 60)
            await phone.close()
        return phone, {"outcome": outcome, "call_id": ringing["call_id"]}

    phone, result = asyncio.run(scenario())
    outcome, call_id = result["outcome"], str(result["call_id"])
    assert isinstance(outcome, dict) and outcome["answered"], outcome
    assert outcome["dtmf_received"] == "5#", outcome  # the agent's keypad reached the customer

    # The agent heard the customer; the customer heard the agent and, on hold, the music.
    heard_by_agent = phone.heard_pcm()
    assert heard_second(heard_by_agent, customer_audio, 7, 9) > 0.6
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert heard_second(customer_heard, agent_audio, 1, 3) > 0.6
    music, _ = read_wav_mono(write_hold_music(tmp_path / "hold-music.wav"))  # the same tune
    after_agent = customer_heard[_offset(customer_heard, agent_audio[8000 : 8000 * 3]) :]
    assert _found_in(np.tile(music, 2), after_agent) > 0.8, "no hold music while held"

    # One stereo recording: the customer left, the softphone's microphone right.
    call = hub.wait_for("the call's row", lambda: _ended(hub, call_id), 30)
    recording = hub.data_dir / "recordings" / call["recording_path"]
    left, _ = read_wav_mono(recording, channel=0)
    right, _ = read_wav_mono(recording, channel=1)
    assert heard_second(left, customer_audio, 3, 6) > 0.6
    assert heard_second(right, agent_audio, 1, 3) > 0.6
    assert float(np.abs(right.astype(np.float64)).mean()) > 100

    kinds = [(e["kind"], e["data"].get("state")) for e in call["events"]]
    for state in ("ringing", "answered", "held", "resumed", "ended"):
        assert ("agent_leg", state) in kinds, kinds
    assert agent_state(hub, AGENT)["state"] in ("wrap_up", "ready")


def test_a_disconnected_softphone_is_not_offered_calls(hub: RunningHub, tmp_path: Path) -> None:
    write_wav_mono(tmp_path / "customer.wav", noise_bursts(6, 13))
    set_ready(hub)
    customer = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900008888",
        play=tmp_path / "customer.wav", press=("1.5:0",), hangup_after=8, wait=False, timeout=30,
    )  # fmt: skip
    outcome = caller_outcome(customer, timeout=40)
    assert outcome["answered"]
    assert agent_state(hub, AGENT)["state"] == "ready"  # never rung: no softphone plugged in


def test_the_agent_calls_a_customer_from_the_desk(
    hub: RunningHub, customer_port: int, tmp_path: Path
) -> None:
    """POST /api/calls/outbound: the softphone picks up by itself ("dialling"), the customer's
    phone rings through the outbound route and answers; they talk; the agent hangs up."""
    customer_audio, agent_audio = noise_bursts(15, 21), noise_bursts(4, 22)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    phone_of_customer = await_test_call(
        customer_port, answer_after=1.0, play=tmp_path / "customer.wav",
        record=tmp_path / "customer-heard.wav", timeout=60,
    )  # fmt: skip

    async def scenario() -> tuple[HeadlessSoftphone, str]:
        phone = HeadlessSoftphone()
        await phone.connect(hub.http_url, token(hub))
        await phone.wait_state("idle", 10)
        auth = {"Authorization": f"Bearer {token(hub)}"}
        async with httpx.AsyncClient(base_url=hub.http_url, headers=auth, timeout=10) as client:
            reply = await client.post("/api/calls/outbound", json={"number": "13912345678"})
            assert reply.status_code == 202, reply.text
            assert reply.json()["number"] == "139****5678"
            again = await client.post("/api/calls/outbound", json={"number": "13912345678"})
            assert again.status_code == 409, again.text  # one call at a time
        try:
            await phone.wait_state("dialling", 10)
            await phone.wait_state("talking", 20)
            phone.mic.play(agent_audio)
            await asyncio.sleep(5)
            await phone.send("hangup")
            await phone.wait_state("idle", 10)
        finally:
            await phone.close()
        return phone, str(reply.json()["call_id"])

    phone, call_id = asyncio.run(scenario())
    outcome = caller_outcome(phone_of_customer, timeout=30)
    assert outcome["answered"], outcome
    assert "4000000000" in outcome["remote"]  # our caller id
    heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert heard_second(heard, agent_audio, 1, 3) > 0.6
    assert heard_second(phone.heard_pcm(), customer_audio, 3, 5) > 0.6
    call = hub.wait_for("the call's row", lambda: _ended(hub, call_id), 30)
    assert call["direction"] == "outbound"
    recording = hub.data_dir / "recordings" / str(call["recording_path"])
    right, _ = read_wav_mono(recording, channel=1)
    assert heard_second(right, agent_audio, 1, 3) > 0.6


def test_a_page_reloaded_mid_call_takes_the_call_back(hub: RunningHub, tmp_path: Path) -> None:
    """The agent's page goes away mid-call: the customer hears hold music, the agent's next
    page (within softphone.reconnect_seconds) is back on the call, taken off hold, and talks;
    a page that does not come back costs the call its agent once the time is up."""
    customer_audio = noise_bursts(40, 15)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    set_ready(hub)

    async def scenario() -> tuple[HeadlessSoftphone, str, dict[str, object], float]:
        first = HeadlessSoftphone()
        await first.connect(hub.http_url, token(hub))
        await first.wait_state("idle", 10)
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900006543",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=60, wait=False, timeout=90,
        )  # fmt: skip
        try:
            await first.wait_state("ringing", 40)
            await first.send("answer_call")
            await first.wait_state("talking", 10)
            await asyncio.sleep(2)
            await first.close()  # the page reloads
            await asyncio.sleep(3)  # the customer hears hold music meanwhile
            second = HeadlessSoftphone()
            await second.connect(hub.http_url, token(hub))
            back = await second.wait_state("talking", 10)  # held first, then resumed
            await asyncio.sleep(4)
            await second.close()  # and this one does not come back
            gone = time.monotonic()
            outcome = await asyncio.to_thread(caller_outcome, customer, 60)
            waited = time.monotonic() - gone
        finally:
            if customer.poll() is None:
                customer.kill()
        return second, str(back["call_id"]), outcome, waited

    second, call_id, outcome, waited = asyncio.run(scenario())
    assert outcome["answered"], outcome
    assert RECONNECT_S - 1 < waited < RECONNECT_S + 10, waited  # the call ended with its agent
    # The second page heard the customer (some seconds after the answer: IVR, queue, hold).
    assert heard_second(second.heard_pcm(), customer_audio, 6, 20) > 0.6
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    music, _ = read_wav_mono(write_hold_music(tmp_path / "hold-music.wav"))
    assert _found_in(np.tile(music, 2), customer_heard) > 0.8, "no hold music while away"
    call = hub.wait_for("the call's row", lambda: _ended(hub, call_id), 30)
    kinds = [(e["kind"], e["data"].get("state")) for e in call["events"]]
    assert kinds.count(("agent_leg", "answered")) == 1, kinds  # one leg throughout
    assert ("agent_leg", "held") in kinds and ("agent_leg", "resumed") in kinds, kinds


def _offset(heard: np.ndarray[Any, Any], clip: np.ndarray[Any, Any]) -> int:
    """Where ``clip`` best matches inside ``heard`` (samples)."""
    a, b = heard.astype(np.float64), clip.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return int(np.argmax(np.abs(corr[: len(a)])))


def _found_in(source: np.ndarray[Any, Any], heard: np.ndarray[Any, Any]) -> float:
    """The best match of any loud half second of ``heard`` inside ``source``."""
    half = 4000
    windows = [heard[i : i + half] for i in range(0, len(heard) - half, half // 2)]
    loud = [w for w in windows if np.abs(w.astype(np.float64)).mean() > 200]
    return max((best_match(source, w) for w in loud), default=0.0)


def _ended(hub: RunningHub, call_id: str) -> dict[str, object] | None:
    call: dict[str, object] = hub.get(f"/api/calls/{call_id}").json()
    return call if call.get("ended_at") and call.get("recording_path") else None
