"""The desk page's softphone in a real Chromium: an agent whose phone is "browser" logs in, the
page connects its headset (a fake microphone fed from a WAV file) over WebRTC to the hub, a
pjsua2 customer presses 0 in the IVR, the page rings, the agent clicks 接听, they talk, the
agent clicks 挂断. The stereo recording's right channel carries the page's microphone and the
left the customer's (aligned correlation with each source WAV); the page heard the customer;
each leg has transcript segments of its own (the test model's text is not checked:
VOSK_NOTES).

Everything runs in a network namespace with only ``lo`` (tests/netns.py): the hub, the SIP
customer and Chromium, so WebRTC has no address but loopback to use.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest

from tests import netns
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, log_in, missing_tool, screenshot
from tests.integration.asr_support import ASR_ENV
from tests.integration.clients import await_test_call, caller_outcome, place_test_call
from tests.integration.hubproc import PASSWORD, RunningHub, serving_module, start_hub
from tests.integration.sipp_tools import free_port
from tests.integration.test_agent_calls import best_match, set_phone, set_state
from tests.support_audio import read_wav_mono, write_wav_mono
from tingyin.agents.config import DEFAULT_QUEUE_CONFIG

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration

AGENT = "it-agent"
RATE = 8000
CUSTOMER_SAYS = "안녕하세요 주문한 음식이 아직 도착하지 않았어요"
AGENT_SAYS = "네 고객님 확인해 드리겠습니다 잠시만 기다려 주세요"


def speak(text: str, out: Path) -> np.ndarray[Any, Any]:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)],
                   check=True, timeout=60)  # fmt: skip
    pcm, _ = read_wav_mono(out)
    return pcm


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    if not netns.available():
        missing_tool("the softphone page test needs root and nsenter (a loopback-only netns)")
    with netns.loopback_namespace(f"tingyin-e2e-{os.getpid()}") as name, netns.entered(name):
        yield name


@pytest.fixture(scope="module")
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, namespace: str
) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("softphone-page")
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8").replace(
        "wrap_up_seconds = 30", "wrap_up_seconds = 2"
    )
    (base / "queues.toml").write_text(text, encoding="utf-8")
    env = ASR_ENV | {
        "TINGYIN_IVR__ENABLED": "true",  # the customer presses 0 to reach the queue
        "TINGYIN_QUEUES__CONFIG_FILE": str(base / "queues.toml"),
        "TINGYIN_SOFTPHONE__ICE_ADDRESSES": '["127.0.0.1"]',
    }
    running = start_hub(base / "data", workers=2, env=env)
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "agents", "set", AGENT, "--phone", "browser",
         "--lines", "customer", "--data-dir", str(running.data_dir)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    with serving_module(request, running):
        yield running


@pytest.fixture(scope="module")
def headset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray[Any, Any]]:
    """The agent's fake microphone: the agent's sentence and a second of quiet, looped by
    Chromium for as long as the page runs (it starts at getUserMedia, not at the answer)."""
    out = tmp_path_factory.mktemp("headset")
    speech = speak(AGENT_SAYS, out / "agent-speech.wav")
    loop = np.concatenate([speech, np.zeros(RATE, dtype=np.int16)])
    write_wav_mono(out / "headset.wav", loop)
    return out / "headset.wav", speech


@pytest.fixture
def softphone_page(
    browser: Browser, namespace: str, headset: tuple[Path, Any], tmp_path: Path
) -> Iterator[Page]:
    wrapper = netns.chromium_wrapper(namespace, CHROMIUM, tmp_path)
    chromium = browser.browser_type.launch(
        executable_path=str(wrapper),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={headset[0]}",
            "--allow-loopback-in-peer-connection",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    # The raw microphone: no echo cancellation or gain control between the WAV and the call.
    context.add_init_script("localStorage.setItem('tingyin.softphone.raw', '1')")
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
        chromium.close()
    assert not errors, f"uncaught errors in the page: {errors}"


# Loudness of what the page's <audio> element ``id`` plays, sampled for ``ms`` (WebAudio analyser).
HEARD_RMS = """async ([ms, id]) => {
  const stream = document.getElementById(id).srcObject;
  if (!stream) return -1;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(stream).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  let loudest = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    analyser.getFloatTimeDomainData(data);
    loudest = Math.max(loudest, Math.sqrt(data.reduce((s, v) => s + v * v, 0) / data.length));
  }
  await context.close();
  return loudest;
}"""


def test_agent_answers_in_the_page_with_a_headset(
    hub: RunningHub, softphone_page: Page, headset: tuple[Path, Any], tmp_path: Path
) -> None:
    page = softphone_page
    customer_speech = speak(CUSTOMER_SAYS, tmp_path / "customer-speech.wav")
    gap = np.zeros(int(RATE * 1.2), dtype=np.int16)
    customer = np.concatenate([np.zeros(RATE // 2, dtype=np.int16), *[customer_speech, gap] * 4])
    write_wav_mono(tmp_path / "customer.wav", customer)

    log_in(page, hub.http_url, AGENT, PASSWORD)
    page.wait_for_selector("[data-testid=softphone][data-state=idle]", timeout=20_000)
    page.click("[data-testid=state-ready]")
    page.wait_for_selector("[data-testid=state-chip][data-state=ready]")

    caller = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900009999",
        play=tmp_path / "customer.wav", press=("1.5:0",), hangup_after=40, wait=False, timeout=60,
    )  # fmt: skip
    try:
        page.wait_for_selector("[data-testid=softphone][data-state=ringing]", timeout=30_000)
        page.click("[data-testid=sp-answer]")
        page.wait_for_selector("[data-testid=softphone][data-state=talking]")
        loudest = page.evaluate(HEARD_RMS, [3000, "sp-audio"])
        page.wait_for_timeout(6000)
        screenshot(page, "desk-softphone-talking.png")
        page.click("[data-testid=sp-hangup]")
        page.wait_for_selector("[data-testid=softphone][data-state=idle]")
    finally:
        outcome = caller_outcome(caller, timeout=60)
    assert outcome["answered"], outcome
    assert loudest > 0.01, f"the page heard nothing of the customer (rms {loudest})"

    calls = hub.get("/api/calls", role="supervisor").json()
    call_id = next(c["id"] for c in calls if "9999" in c["caller_number"])
    call = hub.wait_for("the recording", lambda: _finished(hub, call_id), 30)
    recording = hub.data_dir / "recordings" / call["recording_path"]
    left, _ = read_wav_mono(recording, channel=0)
    right, _ = read_wav_mono(recording, channel=1)
    agent_speech = headset[1]
    third = len(agent_speech) // 3
    assert best_match(right, agent_speech[third : 2 * third]) > 0.6, "the page's mic is not right"
    assert best_match(left, customer_speech[third : 2 * third]) > 0.6, "the caller is not left"
    assert best_match(left, agent_speech[third : 2 * third]) < 0.4  # and not mixed in

    def both_legs() -> dict[str, int] | None:
        body = hub.get(f"/api/calls/{call_id}/transcript").json()
        counts: dict[str, int] = {}
        for segment in body["segments"]:
            counts[segment["leg"]] = counts.get(segment["leg"], 0) + 1
        return counts if counts.get("caller") and counts.get("agent") else None

    counts = hub.wait_for("transcript segments on both legs", both_legs, 90)
    assert set(counts) <= {"caller", "agent", "system"}, counts


def test_a_sip_agent_phone_call_is_transcribed_leg_by_leg(
    hub: RunningHub, headset: tuple[Path, Any], tmp_path: Path
) -> None:
    """The same with a pjsua2 agent phone instead of the page: the customer's and the agent's
    words land as separate segments, the agent's labelled ``agent`` once they answered."""
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "users", "add", "it-sip-agent", "--role", "agent",
         "--data-dir", str(hub.data_dir)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port("udp")
    set_phone(hub, "it-sip-agent", port)
    customer_speech = speak(CUSTOMER_SAYS, tmp_path / "customer-speech.wav")
    gap = np.zeros(int(RATE * 1.2), dtype=np.int16)
    write_wav_mono(tmp_path / "customer.wav", np.concatenate([gap, *[customer_speech, gap] * 3]))
    agent_speech = headset[1]
    write_wav_mono(tmp_path / "agent.wav", np.concatenate([gap, agent_speech, gap, agent_speech]))
    agent_phone = await_test_call(port, play=tmp_path / "agent.wav", timeout=60)
    set_state(hub, "it-sip-agent", "ready")
    caller = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900008765",
        play=tmp_path / "customer.wav", press=("1.5:0",), hangup_after=22, wait=False, timeout=60,
    )  # fmt: skip
    assert caller_outcome(caller, timeout=60)["answered"]
    assert caller_outcome(agent_phone, timeout=30)["answered"]
    calls = hub.get("/api/calls", role="supervisor").json()
    call_id = next(c["id"] for c in calls if "8765" in c["caller_number"])

    def both_legs() -> dict[str, int] | None:
        body = hub.get(f"/api/calls/{call_id}/transcript").json()
        counts: dict[str, int] = {}
        for segment in body["segments"]:
            counts[segment["leg"]] = counts.get(segment["leg"], 0) + 1
        return counts if counts.get("caller") and counts.get("agent") else None

    counts = hub.wait_for("caller and agent segments", both_legs, 90)
    assert set(counts) <= {"caller", "agent", "system"}, counts


def test_a_supervisor_listens_then_whispers_from_the_room(
    hub: RunningHub, softphone_page: Page, headset: tuple[Path, Any], tmp_path: Path
) -> None:
    """The listening room in Chromium on a live SIP call: the supervisor clicks the agent's tile
    and 监听 — the room's <audio> plays the call — then 耳语: the page's microphone (the fake
    headset) reaches the agent's phone and not the customer's."""
    page = softphone_page
    port = free_port("udp")
    _add_agent(hub, "it-agent-room")
    set_phone(hub, "it-agent-room", port)
    gap = np.zeros(RATE, dtype=np.int16)
    customer_speech = speak(CUSTOMER_SAYS, tmp_path / "customer-speech.wav")
    write_wav_mono(tmp_path / "customer.wav", np.concatenate([gap, *[customer_speech, gap] * 8]))
    agent_phone = await_test_call(port, record=tmp_path / "agent-heard.wav", timeout=90)
    _only_ready(hub, "it-agent-room")
    caller = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900004321",
        play=tmp_path / "customer.wav", record=tmp_path / "customer-heard.wav",
        press=("1.5:0",), hangup_after=45, wait=False, timeout=60,
    )  # fmt: skip
    try:
        log_in(page, hub.http_url, "it-supervisor", PASSWORD, then="/room")
        tile = page.locator("[data-testid=tile-it-agent-room]")
        tile.locator("[data-testid=duration]").wait_for(timeout=30_000)  # on the call
        tile.click()
        page.click("[data-testid=monitor] [data-mode=listen]")
        page.wait_for_selector("[data-mode=listen][aria-pressed=true]", timeout=20_000)
        loudest = page.evaluate(HEARD_RMS, [4000, "monitor-audio"])
        page.click("[data-testid=monitor] [data-mode=whisper]")
        page.wait_for_selector("[data-mode=whisper][aria-pressed=true]", timeout=20_000)
        page.wait_for_timeout(12_000)  # the headset loops the agent's sentence (~4 s) and a gap
        screenshot(page, "room-whisper.png")
        page.click("#monitor-stop")
    finally:
        outcome = caller_outcome(caller, timeout=90)
    assert outcome["answered"], outcome
    assert caller_outcome(agent_phone, timeout=30)["answered"]
    assert loudest > 0.01, f"the room's audio played nothing of the call (rms {loudest})"
    agent_heard, _ = read_wav_mono(tmp_path / "agent-heard.wav")
    customer_heard, _ = read_wav_mono(tmp_path / "customer-heard.wav")
    whisper = headset[1]
    third = len(whisper) // 3
    assert best_match(agent_heard, whisper[third : 2 * third]) > 0.5, "the agent hears it"
    assert best_match(customer_heard, whisper[third : 2 * third]) < 0.3, "the customer does not"
    audit = hub.get("/api/audit", role="admin", action="call.monitor").json()
    assert {"listen", "whisper"} <= {row["detail"]["mode"] for row in audit}, audit


# Samples the 立体声 button's attributes every 200 ms for up to ``ms``: [state, frames, left,
# right, ahead_ms] rows; stops early once each side was heard alone ``enough`` times.
STEREO_SAMPLES = """async ([ms, loud, quiet, enough]) => {
  const button = document.querySelector("[data-testid=stereo]");
  const rows = [];
  const alone = (a, b) => rows.filter((r) => r[a] > loud && r[b] < quiet).length >= enough;
  const end = performance.now() + ms;
  while (performance.now() < end && !(alone(2, 3) && alone(3, 2))) {
    await new Promise((r) => setTimeout(r, 200));
    const d = button.dataset;
    rows.push([d.stereoState, Number(d.stereoFrames), Number(d.stereoLeftRms),
      Number(d.stereoRightRms), Number(d.stereoAheadMs)]);
  }
  return rows;
}"""
LOUD, QUIET = 0.05, 0.01


def noise_bursts(
    seconds_on: float, seconds_off: float, times: int, seed: int
) -> np.ndarray[Any, Any]:
    """White noise (RMS about 0.2 of full scale) ``seconds_on``, then quiet, ``times`` over."""
    rng = np.random.default_rng(seed)
    burst = int(RATE * seconds_on)
    parts = []
    for _ in range(times):
        noise = np.clip(rng.normal(0, 0.2 * 32767, burst), -32767, 32767).astype(np.int16)
        parts += [noise, np.zeros(int(RATE * seconds_off), dtype=np.int16)]
    return np.concatenate(parts)


def test_a_supervisor_listens_in_stereo_from_the_room(
    hub: RunningHub, softphone_page: Page, tmp_path: Path
) -> None:
    """立体声 in the room on a live SIP call: the page plays /ws/calls/{id}/audio with the
    caller in the left ear and the agent in the right. Headless Chromium's output cannot be
    captured, so the page's per-channel loudness of the last second is what is checked: the
    customer sends noise 4 s on / 4 s off, the agent's phone 8 s on / 8 s off, so whatever the
    offset between their starts, each is heard alone for stretches of 2 s or more."""
    page = softphone_page
    port = free_port("udp")
    _add_agent(hub, "it-agent-stereo")
    set_phone(hub, "it-agent-stereo", port)
    quiet = np.zeros(RATE * 3, dtype=np.int16)  # the IVR's menu and the 0 key first
    write_wav_mono(tmp_path / "customer.wav", np.concatenate([quiet, noise_bursts(4, 4, 8, 1)]))
    write_wav_mono(tmp_path / "agent.wav", noise_bursts(8, 8, 4, 2))
    agent_phone = await_test_call(port, play=tmp_path / "agent.wav", timeout=90)
    _only_ready(hub, "it-agent-stereo")
    caller = place_test_call(
        f"sip:4008001234@{hub.sip_host}:{hub.sip_port}", caller="13900005678",
        play=tmp_path / "customer.wav", press=("1.5:0",), hangup_after=48, wait=False, timeout=60,
    )  # fmt: skip
    stereo = page.locator("[data-testid=stereo]")
    try:
        log_in(page, hub.http_url, "it-supervisor", PASSWORD, then="/room")
        tile = page.locator("[data-testid=tile-it-agent-stereo]")
        tile.locator("[data-testid=duration]").wait_for(timeout=30_000)  # on the call
        tile.click()
        # One way of listening at a time: the WebRTC headset leaves when stereo starts.
        page.click("[data-testid=monitor] [data-mode=listen]")
        page.wait_for_selector("[data-mode=listen][aria-pressed=true]", timeout=20_000)
        stereo.click()
        page.wait_for_selector("[data-testid=stereo][data-stereo-state=playing]", timeout=10_000)
        assert page.get_attribute("[data-mode=listen]", "aria-pressed") == "false"
        rows = page.evaluate(STEREO_SAMPLES, [22_000, LOUD, QUIET, 3])
        screenshot(page, "room-stereo.png")
        page.click("#monitor-stop")
        page.wait_for_selector("[data-testid=stereo][data-stereo-state=idle]")
        # Again until the customer hangs up: the hub's {"type": "ended"} ends it.
        stereo.click()
        page.wait_for_selector("[data-testid=stereo][data-stereo-state=playing]", timeout=10_000)
        again = page.evaluate(STEREO_SAMPLES, [1500, LOUD, QUIET, 99])
        page.wait_for_selector("[data-testid=stereo][data-stereo-state=ended]", timeout=40_000)
        ended_status = page.text_content("[data-testid=monitor-status]")
    finally:
        outcome = caller_outcome(caller, timeout=90)
    assert outcome["answered"], outcome
    assert caller_outcome(agent_phone, timeout=30)["answered"]
    assert ended_status == "通话已结束"
    for samples in (rows, again):
        assert all(row[0] == "playing" for row in samples), samples
        frames = [row[1] for row in samples]
        assert frames[-1] > frames[0] + len(samples) and frames == sorted(frames), frames  # 10/s
        # Scheduled back to back a little ahead of the playhead (LEAD 120 ms, at most 600 ms).
        assert all(10 <= row[4] <= 600 for row in samples), samples
    left_alone = [r for r in rows if r[2] > LOUD and r[3] < QUIET]
    right_alone = [r for r in rows if r[3] > LOUD and r[2] < QUIET]
    assert len(left_alone) >= 3, f"the customer was never heard alone in the left ear: {rows}"
    assert len(right_alone) >= 3, f"the agent was never heard alone in the right ear: {rows}"

    calls = hub.get("/api/calls", role="supervisor").json()
    call_id = next(c["id"] for c in calls if "5678" in c["caller_number"])

    def sessions() -> list[str] | None:
        audit = hub.get("/api/audit", role="admin", limit=200).json()
        mine = sorted(
            row["action"] for row in audit
            if row["object_id"] == call_id and row["username"] == "it-supervisor"
            and row["action"].startswith("call.listen")
        )  # fmt: skip
        return mine if len(mine) == 4 else None

    assert hub.wait_for("two audited stereo sessions", sessions, 10) == [
        "call.listen", "call.listen", "call.listen.end", "call.listen.end",
    ]  # fmt: skip


def _only_ready(hub: RunningHub, username: str) -> None:
    """``username`` ready, and the module's earlier agents (their phones gone) offline, so the
    ACD does not ring a dead phone first."""
    for other in (AGENT, "it-sip-agent", "it-agent-room", "it-agent-stereo"):
        if other != username:
            with contextlib.suppress(AssertionError, httpx.HTTPError):
                set_state(hub, other, "offline")
    set_state(hub, username, "ready")


def _add_agent(hub: RunningHub, username: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tingyin.cli", "users", "add", username, "--role", "agent",
         "--data-dir", str(hub.data_dir)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def _finished(hub: RunningHub, call_id: str) -> dict[str, Any] | None:
    call: dict[str, Any] = hub.get(f"/api/calls/{call_id}").json()
    return call if call.get("ended_at") and call.get("recording_path") else None
