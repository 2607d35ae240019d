"""Screen pop on real calls: seeded orders, SIPp and pjsua2 callers, the agent's websocket.

Each call comes from a planted number (a late order's customer, a rider, a store's landline, a
platform privacy number …); the caller context must reach an agent's socket before the call is
answered, with the right order, anomaly and suggestion.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.clients import caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port, run_sipp
from tests.integration.test_first_call import EventCollector
from tingyin.config import load_settings
from tingyin.screenpop.scenarios import Scenarios, plant_scenarios
from tingyin.store import Database

SCENARIO = Path(__file__).parent / "sipp" / "caller_from.xml"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenarios]:
    data_dir = tmp_path_factory.mktemp("screenpop") / "data"
    db = Database(load_settings(data_dir=data_dir).resolved_database_url)
    db.migrate()
    scenarios = plant_scenarios(db, now=datetime.now(UTC))
    db.dispose()
    return data_dir, scenarios


@pytest.fixture(scope="module")
def hub(request: pytest.FixtureRequest, planted: tuple[Path, Scenarios]) -> Iterator[RunningHub]:
    running = start_hub(planted[0], workers=2)
    with serving_module(request, running):
        yield running


@pytest.fixture(scope="module")
def scenarios(planted: tuple[Path, Scenarios]) -> Scenarios:
    return planted[1]


@pytest.fixture
def agent_events(hub: RunningHub) -> Iterator[EventCollector]:
    events = EventCollector(hub, role="agent")
    yield events
    events.close()


def sipp_call_from(hub: RunningHub, number: str, tmp_path: Path, hold_ms: int = 800) -> None:
    result = run_sipp(
        [
            *(f"{hub.sip_host}:{hub.sip_port}", "-sf", str(SCENARIO), "-s", "4008001234"),
            *("-i", "127.0.0.1", "-p", str(free_port("udp")), "-key", "caller", number),
            *("-d", str(hold_ms), "-m", "1", "-timeout", "15", "-timeout_error"),
            *("-trace_err", "-error_file", str(tmp_path / "sipp.err")),
        ],
        timeout=30,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-2000:])


def pjsua2_call_from(hub: RunningHub, number: str) -> dict[str, Any]:
    uri = f"sip:4008001234@{hub.sip_host}:{hub.sip_port}"
    proc = place_test_call(uri, caller=number, hangup_after=1.5, wait=False)
    return caller_outcome(proc)


def pop_for(events: EventCollector, number: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The events of the call from ``number``, once its context and its answer have both come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ringing = [e for e in events.events if e["type"] == "CallRinging" and e["caller"] == number]
        if ringing:
            call_id = ringing[-1]["call_id"]
            mine = [e for e in events.events if e.get("call_id") == call_id]
            types = [e["type"] for e in mine]
            if "CallerContextReady" in types and "CallAnswered" in types:
                return mine
        time.sleep(0.05)
    raise AssertionError(f"no screen pop and answer for {number}: {events.events[-10:]}")


def context_before_answer(mine: list[dict[str, Any]]) -> dict[str, Any]:
    types = [e["type"] for e in mine]
    assert types.index("CallerContextReady") < types.index("CallAnswered"), types
    context = next(e for e in mine if e["type"] == "CallerContextReady")
    answered = next(e for e in mine if e["type"] == "CallAnswered")
    assert context["at"] < answered["at"]
    assert not context["error"], context["error"]
    return context


def anomaly_kinds(card: dict[str, Any]) -> list[str]:
    return [a["kind"] for a in card["anomalies"]]


def test_late_order_customer_by_sipp(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    sipp_call_from(hub, scenarios.late_customer, tmp_path)
    context = context_before_answer(pop_for(agent_events, scenarios.late_customer))
    assert context["caller_kind"] == "customer"
    assert context["caller"] == "138****0001"  # masked, never the full number
    first = context["orders"][0]
    assert first["order_no"] == scenarios.late_order
    assert "late" in anomaly_kinds(first)
    assert context["suggestion"]["rule"] == "late-20"
    assert context["suggestion"]["amount_fen"] == 500
    assert context["lookup_ms"] < 1000


def test_food_safety_customer_by_pjsua2(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector
) -> None:
    outcome = pjsua2_call_from(hub, scenarios.food_safety_customer)
    assert outcome["answered"], outcome
    context = context_before_answer(pop_for(agent_events, scenarios.food_safety_customer))
    first = context["orders"][0]
    assert first["order_no"] == scenarios.food_safety_order
    assert "过敏" in first["flagged_remarks"]
    suggestion = context["suggestion"]
    assert (suggestion["rule"], suggestion["priority"]) == ("food-safety", "urgent")
    # Stored with the call: the API gives the same context after the call.
    stored = hub.get(f"/api/calls/{context['call_id']}/context", role="agent").json()
    assert stored["orders"][0]["order_no"] == scenarios.food_safety_order


def test_rider_number(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    sipp_call_from(hub, scenarios.rider, tmp_path)
    context = context_before_answer(pop_for(agent_events, scenarios.rider))
    assert context["caller_kind"] == "rider"
    assert "rider_not_moving" in anomaly_kinds(context["orders"][0])
    assert context["suggestion"]["rule"] == "rider-help"


def test_masked_privacy_number_resolves_to_its_order(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector
) -> None:
    outcome = pjsua2_call_from(hub, scenarios.masked_number)
    assert outcome["answered"], outcome
    context = context_before_answer(pop_for(agent_events, scenarios.masked_number))
    assert context["via_binding"] is True
    assert context["caller_kind"] == "customer"
    assert context["orders"][0]["order_no"] == scenarios.late_order


def test_merchant_landline(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    sipp_call_from(hub, scenarios.merchant_store, tmp_path)
    context = context_before_answer(pop_for(agent_events, scenarios.merchant_store))
    assert context["caller_kind"] == "merchant"
    assert context["number_kind"] == "landline"
    assert any("merchant_slow" in anomaly_kinds(card) for card in context["orders"])


def test_unknown_and_withheld_numbers_still_pop(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    sipp_call_from(hub, scenarios.unknown_number, tmp_path)
    context = context_before_answer(pop_for(agent_events, scenarios.unknown_number))
    assert (context["caller_kind"], context["orders"]) == ("unknown", [])
    assert context["suggestion"]["rule"] == "fallback"
    sipp_call_from(hub, "anonymous", tmp_path)
    context = context_before_answer(pop_for(agent_events, "anonymous"))
    assert (context["number_kind"], context["caller_kind"]) == ("withheld", "unknown")


def test_repeat_caller_and_search(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    number = scenarios.vip_customer
    sipp_call_from(hub, number, tmp_path)
    first = context_before_answer(pop_for(agent_events, number))
    assert "vip" in first["flags"]
    hub.wait_for("the first call ended", lambda: all(c["ended_at"] for c in hub.calls()))
    agent_events.events.clear()
    sipp_call_from(hub, number, tmp_path)
    again = context_before_answer(pop_for(agent_events, number))
    assert again["calls_24h"] >= first["calls_24h"] + 1
    assert again["recent_calls"][0]["call_id"] == first["call_id"]

    found = hub.get("/api/screenpop/search", role="agent", q=scenarios.late_order).json()
    assert found["query_kind"] == "order"
    assert found["orders"][0]["order_no"] == scenarios.late_order
    by_phone = hub.get("/api/screenpop/search", role="agent", q=scenarios.late_customer).json()
    assert (by_phone["query_kind"], by_phone["caller_kind"]) == ("phone", "customer")
    nothing = hub.get("/api/screenpop/search", role="agent", q="9999999999999999").json()
    assert nothing["message"] and nothing["orders"] == []
    assert hub.get("/api/screenpop/search", role=None, q="1").status_code == 401


def test_open_tickets_pop_and_ticket_numbers_are_searchable(
    hub: RunningHub, scenarios: Scenarios, agent_events: EventCollector, tmp_path: Path
) -> None:
    with hub.client("agent") as client:
        made = client.post(
            "/api/tickets",
            json={"category": "late", "order_no": scenarios.rider_cancelled_order},
        )
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    sipp_call_from(hub, scenarios.rider_cancelled_customer, tmp_path)
    context = context_before_answer(pop_for(agent_events, scenarios.rider_cancelled_customer))
    assert number in context["open_tickets"]
    assert context["suggestion"]["rule"] == "cancelled-by-rider"
    found = hub.get("/api/screenpop/search", role="agent", q=number).json()
    assert found["query_kind"] == "ticket" and found["open_tickets"][0] == number
    assert found["orders"][0]["order_no"] == scenarios.rider_cancelled_order
