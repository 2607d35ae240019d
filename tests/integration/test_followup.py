"""The follow-up survey (回访) over real SIP: a resolved ticket makes the hub call the customer
— a pjsua2 process answering on loopback — who hears the question and presses a key. 4 is
stored and closes the ticket; 1 is stored and reopens it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.clients import await_test_call, caller_outcome
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.support_audio import read_wav_mono
from tingyin.tickets.policy import DEFAULT_TICKET_POLICY

# Due at once, any time of day, a short wait for the key, one retry.
FAST_FOLLOWUP = {
    "delay_hours = 24": "delay_hours = 0",
    'calling_hours = "09:00-21:00"': 'calling_hours = "00:00-24:00"',
    "answer_seconds = 8": "answer_seconds = 6",
    "retry_minutes = 60": "retry_minutes = 0",
}


@pytest.fixture(scope="module")
def customer_port() -> int:
    return free_port("udp")


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, customer_port: int
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("followup")
    policy = DEFAULT_TICKET_POLICY.read_text(encoding="utf-8")
    for old, new in FAST_FOLLOWUP.items():
        assert old in policy, old
        policy = policy.replace(old, new)
    (base / "tickets.toml").write_text(policy, encoding="utf-8")
    env = {
        "TINGYIN_TICKETS__POLICY_FILE": str(base / "tickets.toml"),
        "TINGYIN_OUTBOUND__DIAL_URI": f"sip:{{number}}@127.0.0.1:{customer_port}",
        "TINGYIN_ASR__ENABLED": "false",
    }
    running = start_hub(base / "data", workers=1, env=env)
    with serving_module(request, running):
        yield running


def resolve_a_ticket(hub: RunningHub, phone: str) -> str:
    with hub.client("agent") as client:
        made = client.post("/api/tickets", json={"category": "late", "customer_phone": phone,
                                                  "description": "外卖晚到四十分钟"})  # fmt: skip
        assert made.status_code == 201, made.text
        number: str = made.json()["number"]
        moved = client.post(f"/api/tickets/{number}/status", json={"status": "resolved"})
        assert moved.status_code == 200, moved.text
    return number


def answered_followup(hub: RunningHub, number: str) -> dict[str, Any]:
    def answered() -> dict[str, Any] | None:
        rows: list[dict[str, Any]] = hub.get(f"/api/tickets/{number}/followups").json()
        return rows[-1] if rows and rows[-1]["status"] == "answered" else None

    found: dict[str, Any] = hub.wait_for(f"the follow-up of ticket {number}", answered, 45)
    return found


def survey(hub: RunningHub, port: int, tmp_path: Path, key: str) -> tuple[str, dict[str, Any]]:
    heard = tmp_path / "heard.wav"
    customer = await_test_call(port, dtmf=key, dtmf_at=2.0, record=heard)
    try:
        number = resolve_a_ticket(hub, "13800000001")
        followup = answered_followup(hub, number)
        outcome = caller_outcome(customer, timeout=60)
    finally:
        if customer.poll() is None:
            customer.kill()
    assert outcome["answered"], outcome
    assert outcome["dtmf_sent"] == key
    assert "4000000000" in outcome["remote"]  # the configured caller id
    # The customer heard the question: speech energy within the first two seconds.
    pcm, rate = read_wav_mono(heard)
    first = pcm[: 2 * rate].astype(np.float64)
    assert float(np.sqrt(np.mean(first**2))) > 200, "no prompt audio reached the customer"
    return number, followup


def test_a_satisfied_customer_closes_the_ticket(
    hub: RunningHub, customer_port: int, tmp_path: Path
) -> None:
    number, followup = survey(hub, customer_port, tmp_path, "4")
    assert (followup["score"], followup["attempts"]) == (4, 1)
    ticket = hub.get(f"/api/tickets/{number}").json()
    assert ticket["status"] == "closed"
    history = [(e["kind"], e["data"]) for e in ticket["events"]]
    assert ("followup", {"score": 4}) in history

    def survey_call() -> dict[str, Any] | None:
        calls = [c for c in hub.calls() if c["id"] == followup["call_id"] and c["ended_at"]]
        return calls[0] if calls else None

    call = hub.wait_for("the survey call's record", survey_call)
    assert call["direction"] == "outbound"
    assert call["recording_path"], call


def test_an_unhappy_customer_reopens_the_ticket(
    hub: RunningHub, customer_port: int, tmp_path: Path
) -> None:
    number, followup = survey(hub, customer_port, tmp_path, "1")
    assert followup["score"] == 1
    ticket = hub.get(f"/api/tickets/{number}").json()
    assert ticket["status"] == "reopened"
    notes = [e["data"]["note"] for e in ticket["events"] if e["data"].get("to") == "reopened"]
    assert notes and "回访不满意" in notes[0]
