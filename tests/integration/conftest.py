"""Integration fixtures: one real hub per test module, real SIP clients, real audio."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import on_ci
from tests.integration.hubproc import RunningHub, serving_module, start_hub

REQUIRED_TOOLS = ("sipp", "kamailio", "espeak-ng", "sox")


@pytest.fixture(scope="session", autouse=True)
def _integration_tools() -> None:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"integration tests need {', '.join(missing)} (run scripts/setup.sh)"
        if on_ci():
            pytest.fail(message, pytrace=False)  # on CI a missing client is a failure
        pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "failed", False):
        item.module.__dict__["_tingyin_failed"] = True  # type: ignore[attr-defined]
    return report


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    running = start_hub(tmp_path_factory.mktemp("hub") / "data", workers=4)
    with serving_module(request, running):
        yield running


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Korean speech from espeak-ng at 8 kHz, the language our test ASR model speaks."""
    out = tmp_path_factory.mktemp("audio")
    raw, wav = out / "raw.wav", out / "speech.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "ko",
            "-w",
            str(raw),
            "안녕하세요 주문한 음식이 아직 도착하지 않았어요",
        ],
        check=True,
        timeout=60,
    )
    subprocess.run(
        ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)], check=True, timeout=60
    )
    return wav
