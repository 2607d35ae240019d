"""The IVR over real SIP: pjsua2 callers pressing RFC 2833 keys against the packaged menu (with
shorter key timeouts), seeded orders and a real ticket store. Each test checks the path stored
with the call, what the IVR did (tickets, compensation, the queue), and that the caller heard
the prompts (energy in their own recording, where the menu says a prompt plays)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.integration.clients import caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tests.integration.test_first_call import EventCollector
from tests.support_audio import read_wav_mono
from tingyin.config import load_settings
from tingyin.ivr.menu import DEFAULT_MENU
from tingyin.screenpop.importer import import_records
from tingyin.screenpop.scenarios import Scenarios, plant_scenarios
from tingyin.store import Database

# The packaged menu with quicker key timeouts and one retry: the same nodes and prompts.
QUICK = {"retries = 2 ": "retries = 1 ", "timeout = 6.0 ": "timeout = 2.5 "}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenarios]:
    base = tmp_path_factory.mktemp("ivr")
    menu = DEFAULT_MENU.read_text(encoding="utf-8")
    for old, new in QUICK.items():
        assert old in menu, old
        menu = menu.replace(old, new)
    (base / "menu.toml").write_text(menu, encoding="utf-8")
    data_dir = base / "data"
    db = Database(load_settings(data_dir=data_dir).resolved_database_url)
    db.migrate()
    now = datetime.now(UTC)
    scenarios = plant_scenarios(db, now=now)
    report = import_records(db, two_orders_under_way(now), tz=ZoneInfo("Asia/Shanghai"))
    assert report.imported == 2, report.errors
    db.dispose()
    return base, scenarios


TWO_ORDERS_CUSTOMER = "13900005555"


def two_orders_under_way(now: datetime) -> list[dict[str, Any]]:
    """A customer with two orders on their way (neither late): the IVR asks which one."""
    rows = []
    for n, store in ((1, "老乡鸡（望京店）"), (2, "喜茶（望京店）")):
        placed = now - timedelta(minutes=20)
        rows.append({
            "order_no": f"881000000000000{n}", "channel": "meituan",
            "customer_phone": TWO_ORDERS_CUSTOMER, "customer_name": "赵女士",
            "merchant": store.split("（")[0], "store": store, "amount_fen": 3000,
            "placed_at": placed.isoformat(),
            "promised_at": (now + timedelta(minutes=15)).isoformat(),
            "items": [{"name": "套餐", "quantity": 1, "unit_price_fen": 3000}],
            "timeline": [{"kind": "placed", "at": placed.isoformat(), "actor": "customer"},
                         {"kind": "accepted", "at": (placed + timedelta(minutes=1)).isoformat(),
                          "actor": "merchant"}],
        })  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def hub(request: pytest.FixtureRequest, planted: tuple[Path, Scenarios]) -> Iterator[RunningHub]:
    base, _ = planted
    env = {"TINGYIN_IVR__MENU_FILE": str(base / "menu.toml"), "TINGYIN_ASR__ENABLED": "false"}
    running = start_hub(base / "data", workers=2, env=env)
    with serving_module(request, running):
        yield running


@pytest.fixture(scope="module")
def scenarios(planted: tuple[Path, Scenarios]) -> Scenarios:
    return planted[1]


def call_ivr(
    hub: RunningHub, caller: str, presses: tuple[str, ...], hangup_after: float, tmp_path: Path
) -> tuple[dict[str, Any], Path]:
    heard = tmp_path / f"heard-{caller}.wav"
    proc = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller=caller, record=heard,
        press=presses, hangup_after=hangup_after, wait=False, timeout=hangup_after + 30,
    )  # fmt: skip
    outcome = caller_outcome(proc, timeout=hangup_after + 60)
    assert outcome["answered"], outcome
    return outcome, heard


def ivr_record(hub: RunningHub, since: set[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one new call, once its IVR walk has ended: (call, its ivr/queued rows in order)."""

    def ended() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        new = [c for c in hub.calls() if c["id"] not in since]
        if len(new) != 1:
            return None
        detail: dict[str, Any] = hub.get(f"/api/calls/{new[0]['id']}").json()
        rows = [e for e in detail["events"] if e["kind"] in ("ivr", "ivr_end", "queued")]
        return (detail, rows) if any(e["kind"] == "ivr_end" for e in rows) else None

    found: tuple[dict[str, Any], list[dict[str, Any]]] = hub.wait_for("the IVR record", ended, 30)
    return found


def path_of(rows: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["node"] for e in rows if e["kind"] == "ivr"]


def end_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = next(e["data"] for e in rows if e["kind"] == "ivr_end")
    return data


def energy(heard: Path, start: float, end: float) -> float:
    """RMS of what the caller heard between ``start`` and ``end`` seconds of their recording."""
    pcm, rate = read_wav_mono(heard)
    window = pcm[int(start * rate) : int(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(window**2))) if window.size else 0.0


def known_calls(hub: RunningHub) -> set[str]:
    return {c["id"] for c in hub.calls()}


def test_order_status_for_the_callers_own_number(
    hub: RunningHub, scenarios: Scenarios, tmp_path: Path
) -> None:
    before = known_calls(hub)
    # 1: my order; then any other key during the status: the after-status menu ends the call.
    outcome, heard = call_ivr(hub, scenarios.vip_customer, ("1.5:1", "6.5:#"), 30, tmp_path)
    _call, rows = ivr_record(hub, before)
    assert path_of(rows)[:3] == ["welcome", "order_by_caller", "order_status"]
    steps = {e["data"]["node"]: e["data"].get("result", "") for e in rows if e["kind"] == "ivr"}
    assert steps["order_by_caller"] == "key:1" and steps["order_status"] == "found"
    assert path_of(rows)[-1] == "goodbye"
    assert end_of(rows) == {"outcome": "contained", "node": "goodbye"}
    assert outcome["seconds"] < 25  # the IVR hung up, not the caller
    assert energy(heard, 0.2, 1.4) > 300  # the welcome prompt from the start
    assert energy(heard, 2.5, 6.0) > 300  # the order's status after the key


def test_the_automatic_remedy_settles_a_late_order(
    hub: RunningHub, scenarios: Scenarios, tmp_path: Path
) -> None:
    before = known_calls(hub)
    # 1: my order (30 min late) → the offer; 1 again accepts the 5 元 coupon.
    call_ivr(hub, scenarios.late_customer, ("1.5:1", "5:1"), 30, tmp_path)
    call, rows = ivr_record(hub, before)
    assert path_of(rows) == ["welcome", "order_by_caller", "order_late", "remedy_done"]
    assert end_of(rows)["outcome"] == "contained"
    tickets = hub.get("/api/tickets", order_no=scenarios.late_order).json()
    (ticket,) = [t for t in tickets if t["channel"] == "phone"]
    detail = hub.get(f"/api/tickets/{ticket['number']}").json()
    assert (detail["status"], detail["category"], detail["compensation_fen"]) == (
        "resolved", "late", 500,
    )  # fmt: skip
    assert [(c["kind"], c["status"]) for c in detail["compensations"]] == [("coupon", "applied")]
    assert call["id"] in detail["calls"]


def test_ticket_progress_by_number(hub: RunningHub, tmp_path: Path) -> None:
    with hub.client("agent") as client:
        made = client.post("/api/tickets", json={"category": "spill", "description": "汤洒了"})
        number = made.json()["number"]
        client.post(f"/api/tickets/{number}/status", json={"status": "in_progress"})
    before = known_calls(hub)
    presses = ("1.5:3", f"3:{number}#", "9:#")
    _outcome, heard = call_ivr(hub, "13900001111", presses, 30, tmp_path)
    _call, rows = ivr_record(hub, before)
    assert path_of(rows)[:4] == ["welcome", "ask_ticket_number", "ticket_progress", "ticket_status"]
    steps = [(e["data"]["node"], e["data"].get("result", "")) for e in rows if e["kind"] == "ivr"]
    assert ("ticket_progress", "ok") in steps and ("ticket_status", "found") in steps
    assert energy(heard, 5.0, 8.5) > 300  # the progress sentence


def test_wrong_keys_and_silence_are_retried_then_an_agent_takes_over(
    hub: RunningHub, tmp_path: Path
) -> None:
    before = known_calls(hub)
    # 7 is no choice: "please try again", the menu again; then nothing: to the agents' queue.
    _outcome, _heard = call_ivr(hub, "13900002222", ("1.5:7",), 40, tmp_path)
    _call, rows = ivr_record(hub, before)
    results = [e["data"].get("result", "") for e in rows if e["kind"] == "ivr"]
    assert "invalid" in results
    assert path_of(rows)[-1] == "to_agent"
    assert end_of(rows) == {"outcome": "queued", "node": "to_agent"}
    assert [e["data"] for e in rows if e["kind"] == "queued"] == [{"queue": "customer"}]


def test_zero_goes_to_an_agent_with_the_path_on_the_screen_pop(
    hub: RunningHub, scenarios: Scenarios, tmp_path: Path
) -> None:
    events = EventCollector(hub, role="agent")
    try:
        before = known_calls(hub)
        _outcome, heard = call_ivr(hub, scenarios.vip_customer, ("1.5:0",), 9, tmp_path)
        call, rows = ivr_record(hub, before)
        assert path_of(rows) == ["welcome", "to_agent"]
        assert end_of(rows)["outcome"] == "queued"
        deadline = time.monotonic() + 10
        pops: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not any(p.get("ivr_path") for p in pops):
            pops = [e for e in events.events if e.get("type") == "CallerContextReady"
                    and e.get("call_id") == call["id"]]  # fmt: skip
            time.sleep(0.2)
        assert [p["ivr_path"] for p in pops if p["ivr_path"]] == [["welcome", "to_agent"]]
        assert energy(heard, 6.0, 8.5) > 200  # the hold music while waiting
    finally:
        events.close()


def test_hanging_up_mid_menu_keeps_the_path(hub: RunningHub, tmp_path: Path) -> None:
    before = known_calls(hub)
    call_ivr(hub, "13900003333", (), 2.0, tmp_path)
    call, rows = ivr_record(hub, before)
    assert path_of(rows) == ["welcome"]
    assert end_of(rows) == {"outcome": "abandoned", "node": "welcome"}
    assert call["status"] == "ended" and call["recording_path"]
    assert all(w["alive"] for w in hub.health()["parts"]["workers"])


# -- SIPp callers: SIPp's own RFC 2833 captures (PT 101), one per key ---------------------------


def test_sipp_rfc2833_order_status_by_typed_order_number(
    hub: RunningHub, scenarios: Scenarios, tmp_path: Path
) -> None:
    from tests.integration.sipp_dtmf import run_sipp_dtmf, sipp_report

    before = known_calls(hub)
    # 2 barges the welcome; the order number + # barges "请输入您的订单号…"; # during the status
    # skips it and # in the after-status menu is no choice: goodbye, and the IVR hangs up.
    keys = [(1.5, "2"), (3.5, f"{scenarios.vip_order}#"), (10.0, "#"), (12.0, "#")]
    proc = run_sipp_dtmf(hub, "13900004444", keys, 25.0, tmp_path / "sipp")
    assert proc.returncode == 0, sipp_report(proc, tmp_path / "sipp")
    _call, rows = ivr_record(hub, before)
    path = path_of(rows)
    assert path[:4] == ["welcome", "ask_order_number", "order_by_number", "order_status"], rows
    steps = {e["data"]["node"]: e["data"].get("result", "") for e in rows if e["kind"] == "ivr"}
    assert steps["ask_order_number"] == "key:2"
    assert steps["order_by_number"] == "ok" and steps["order_status"] == "found"
    assert end_of(rows) == {"outcome": "contained", "node": "goodbye"}


def test_sipp_rfc2833_zero_goes_to_an_agent(hub: RunningHub, tmp_path: Path) -> None:
    from tests.integration.sipp_dtmf import run_sipp_dtmf, sipp_report

    before = known_calls(hub)
    proc = run_sipp_dtmf(hub, "13900005555", [(1.5, "0")], 6.0, tmp_path / "sipp")  # we hang up
    assert proc.returncode == 0, sipp_report(proc, tmp_path / "sipp")
    _call, rows = ivr_record(hub, before)
    assert path_of(rows) == ["welcome", "to_agent"]
    assert end_of(rows) == {"outcome": "queued", "node": "to_agent"}
    assert [e["data"] for e in rows if e["kind"] == "queued"] == [{"queue": "customer"}]


def test_a_caller_with_two_orders_picks_one(hub: RunningHub, tmp_path: Path) -> None:
    before = known_calls(hub)
    # 1: my orders → "来自老乡鸡…请按1，来自喜茶…请按2" → 2 → that order's status → # ends it.
    call_ivr(hub, TWO_ORDERS_CUSTOMER, ("1.5:1", "4:2", "7:#"), 30, tmp_path)
    _call, rows = ivr_record(hub, before)
    steps = [(e["data"]["node"], e["data"].get("result", "")) for e in rows if e["kind"] == "ivr"]
    assert [node for node, _ in steps][:5] == [
        "welcome", "order_by_caller", "choose_order", "order_by_number", "order_status",
    ]  # fmt: skip
    assert ("choose_order", "several") in steps and ("order_by_number", "key:2") in steps
    assert end_of(rows)["outcome"] == "contained"
