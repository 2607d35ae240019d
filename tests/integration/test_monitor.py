"""A supervisor on a live call from the browser (the headless softphone, aiortc): a pjsua2
customer talks to a pjsua2 agent phone; the supervisor listens (hears both), whispers (the
agent hears it, the customer does not; the recording's agent channel has it), then barges in
(both hear it). Every mode chosen and the end are in the audit log; an agent may not listen.

ICE is pinned to 127.0.0.1 on both ends, as in test_softphone.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import (
    best_match,
    heard_second,
    noise_bursts,
    set_phone,
    set_state,
)
from tests.integration.test_softphone import token
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG
from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.probe import HeadlessSoftphone

RATE = 8000
LOOPBACK = ["127.0.0.1"]


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("monitor")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8").replace(
        "wrap_up_seconds = 30", "wrap_up_seconds = 2"
    )
    (base / "queues.toml").write_text(text, encoding="utf-8")
    env = {"TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
           "TINGYIN_ASR__ENABLED": "false",
           "TINGYIN_SOFTPHONE__ICE_ADDRESSES": json.dumps(LOOPBACK)}  # fmt: skip
    running = start_hub(base / "data", workers=2, env=env)
    pin_host_addresses(LOOPBACK)
    with serving_module(request, running):
        yield running


def talk_then_quiet(seed: int) -> np.ndarray[Any, Any]:
    """10 s of speech-like bursts, then 20 s of quiet (so a whisper is heard alone)."""
    return np.concatenate([noise_bursts(10, seed), np.zeros(20 * RATE, dtype=np.int16)])


def test_listen_whisper_barge_and_the_audit(hub: RunningHub, tmp_path: Path) -> None:
    customer_audio, agent_audio = talk_then_quiet(41), talk_then_quiet(42)
    whisper, barge = noise_bursts(3, 43), noise_bursts(3, 44)
    write_wav_mono(tmp_path / "customer.wav", customer_audio)
    write_wav_mono(tmp_path / "agent.wav", agent_audio)
    port = free_port("udp")
    set_phone(hub, "it-agent", port)
    agent_phone = await_test_call(port, play=tmp_path / "agent.wav",
                                  record=tmp_path / "agent-heard.wav", timeout=90)  # fmt: skip
    set_state(hub, "it-agent", "ready")

    async def scenario() -> tuple[HeadlessSoftphone, str, dict[str, object]]:
        boss = HeadlessSoftphone()
        await boss.connect(hub.http_url, token_of(hub, "supervisor"))
        await boss.wait_state("idle", 10)
        start = time.monotonic()
        customer = place_test_call(
            f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900005555",
            play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
            press=("1.5:0",), hangup_after=30, wait=False, timeout=60,
        )  # fmt: skip
        call_id = await asyncio.to_thread(
            hub.wait_for, "the agent on the call", lambda: talking_call(hub), 30
        )
        try:
            await boss.send("monitor", call_id=call_id, mode="listen")
            joined = await boss.wait_state("monitoring", 10)
            assert joined["mode"] == "listen"
            await asyncio.sleep(max(0.0, start + 15 - time.monotonic()))  # both fall quiet
            await boss.send("monitor", call_id=call_id, mode="whisper")
            await wait_mode(boss, "whisper")
            boss.mic.play(whisper)
            await asyncio.sleep(4)
            await boss.send("monitor", call_id=call_id, mode="barge")
            await wait_mode(boss, "barge")
            boss.mic.play(barge)
            await asyncio.sleep(4)
            await boss.send("hangup")  # leave the call; it goes on
            await boss.wait_state("idle", 10)
        finally:
            outcome = await asyncio.to_thread(caller_outcome, customer, 60)
            await boss.close()
        return boss, call_id, outcome

    boss, call_id, outcome = asyncio.run(scenario())
    assert outcome["answered"], outcome
    assert caller_outcome(agent_phone, timeout=30)["answered"]

    heard_by_boss = boss.heard_pcm()
    assert heard_second(heard_by_boss, customer_audio, 5, 8) > 0.6, (
        "the supervisor hears the caller"
    )
    assert heard_second(heard_by_boss, agent_audio, 5, 8) > 0.6, "and the agent"
    agent_heard, _ = read_wav_mono(tmp_path / "agent-heard.wav")
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    assert heard_second(agent_heard, whisper, 0, 2) > 0.6, "the agent hears the whisper"
    assert (
        max(best_match(customer_heard, whisper[i * RATE : (i + 1) * RATE]) for i in range(2)) < 0.3
    )
    assert heard_second(agent_heard, barge, 0, 2) > 0.6, "barge: the agent hears it"
    assert heard_second(customer_heard, barge, 0, 2) > 0.6, "barge: and so does the customer"

    call = hub.wait_for("the recording", lambda: ended_call(hub, call_id), 30)
    right, _ = read_wav_mono(hub.data_dir / "recordings" / str(call["recording_path"]), channel=1)
    assert heard_second(right, whisper, 0, 2) > 0.6, "the whisper is on the agent's channel"

    audit = hub.get("/api/audit", role="admin", action="call.monitor").json()
    modes = [row["detail"]["mode"] for row in audit if row["object_id"] == call_id]
    assert sorted(modes) == ["barge", "listen", "whisper"], audit
    ends = hub.get("/api/audit", role="admin", action="call.monitor.end").json()
    assert any(row["object_id"] == call_id and row["detail"]["seconds"] > 5 for row in ends), ends


def test_an_agent_may_not_listen_in_and_qa_may_only_listen(hub: RunningHub) -> None:
    async def refusal(bearer: str, mode: str) -> dict[str, object]:
        phone = HeadlessSoftphone()
        await phone.connect(hub.http_url, bearer)
        await phone.wait_state("idle", 10)
        await phone.send("monitor", call_id="0" * 32, mode=mode)
        try:
            while True:
                message = await asyncio.wait_for(phone.states.get(), 10)
                if message.get("type") == "error":
                    return message
        finally:
            await phone.close()

    refused = asyncio.run(refusal(token(hub), "listen"))
    assert refused["message"] == "your role may not listen"
    refused = asyncio.run(refusal(token_of(hub, "qa"), "whisper"))
    assert refused["message"] == "your role may not whisper"


def token_of(hub: RunningHub, role: str) -> str:
    return hub.tokens[role]


async def wait_mode(phone: HeadlessSoftphone, mode: str) -> None:
    while True:
        message = await phone.wait_state("monitoring", 10)
        if message.get("mode") == mode:
            return


def talking_call(hub: RunningHub) -> str | None:
    agents = hub.get("/api/agents", role="supervisor").json()
    me = next(a for a in agents if a["username"] == "it-agent")
    return str(me["call_id"]) if me.get("state") == "on_call" and me.get("call_id") else None


def ended_call(hub: RunningHub, call_id: str) -> dict[str, object] | None:
    call: dict[str, object] = hub.get(f"/api/calls/{call_id}").json()
    return call if call.get("ended_at") and call.get("recording_path") else None
