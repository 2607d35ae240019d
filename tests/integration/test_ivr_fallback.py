"""A broken menu file does not take the line down: the hub starts, says why on /api/health and
in its log, and callers get the greeting and then the agents' queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.clients import caller_outcome, place_test_call
from tests.integration.hubproc import RunningHub, serving_module, start_hub
from tingyin.ivr.menu import DEFAULT_MENU


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("fallback")
    menu = DEFAULT_MENU.read_text(encoding="utf-8").replace(
        'next = "order_by_number"', 'next = "order_by_numbr"', 1
    )
    (base / "menu.toml").write_text(menu, encoding="utf-8")
    env = {"TINGYIN_IVR__MENU_FILE": str(base / "menu.toml"), "TINGYIN_ASR__ENABLED": "false"}
    running = start_hub(base / "data", workers=1, env=env)
    with serving_module(request, running):
        yield running


def test_a_broken_menu_still_answers_and_queues(hub: RunningHub) -> None:
    ivr = hub.health()["parts"]["ivr"]
    assert ivr["menu"] == "fallback"
    assert "unknown node 'order_by_numbr'" in ivr["error"]
    assert "order_by_numbr" in (hub.data_dir / "hub.log").read_text()

    proc = place_test_call(f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900007777",
                           hangup_after=8, wait=False)  # fmt: skip
    assert caller_outcome(proc)["answered"]
    (call,) = hub.wait_calls_finished(1)
    events = hub.get(f"/api/calls/{call['id']}").json()["events"]
    path = [e["data"]["node"] for e in events if e["kind"] == "ivr"]
    assert path == ["welcome", "to_agent"]
    assert [e["data"]["queue"] for e in events if e["kind"] == "queued"] == ["customer"]
