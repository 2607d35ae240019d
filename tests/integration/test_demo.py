"""`tingyin demo`, the README's first command minus the install: it serves and calls itself."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_demo_serves_and_places_calls_a_user_can_watch(tmp_path: Path) -> None:
    env = dict(os.environ, TINGYIN_SIP__RTP_PORT_BASE=str(33000 + (os.getpid() % 100) * 50))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingyin.cli", "demo", "--data-dir", str(tmp_path / "d"),
         "--sip-port", "0", "--http-port", "0", "--call-every", "1"],
        stdout=subprocess.PIPE, stderr=(tmp_path / "demo.log").open("w"), text=True, env=env,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any(line.startswith("ready ") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            if select.select([proc.stdout], [], [], 0.5)[0]:
                lines.append(proc.stdout.readline().strip())
        logins = dict(re.findall(r"demo login (\w+)\s.*password: (\S+)", "\n".join(lines)))
        assert set(logins) == {"admin", "supervisor", "qa", "agent1"}
        http = next(line for line in lines if line.startswith("ready ")).split("http=")[1]
        token = httpx.post(
            f"{http}/api/auth/token",
            data={"username": "supervisor", "password": logins["supervisor"]},
            timeout=10,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def ended() -> list[dict[str, object]]:
            calls = httpx.get(f"{http}/api/calls", headers=auth, timeout=10).json()
            return [c for c in calls if c["status"] == "ended"]

        while not ended():
            assert time.monotonic() < deadline + 30, "no demo call ended"
            time.sleep(1)
        (call, *_) = ended()
        wav = httpx.get(f"{http}/api/calls/{call['id']}/recording", headers=auth, timeout=10)
        assert wav.status_code == 200 and len(wav.content) > 8000
        assert httpx.get(f"{http}/", timeout=10).status_code in (200, 303, 307)
        assert any(line.startswith("note: no zh-CN speech model") for line in lines), lines

        def transcribed() -> bool:
            url = f"{http}/api/calls/{call['id']}/transcript"
            legs = httpx.get(url, headers=auth, timeout=10).json()["legs"]
            return {leg["status"] for leg in legs} == {"complete"} and len(legs) == 2

        while not transcribed():  # the demo transcribes live even without a Mandarin model
            assert time.monotonic() < deadline + 60, "demo call not transcribed"
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, (tmp_path / "demo.log").read_text()[-3000:]
    # A second start shows the same logins again (kept 0600 in the data directory).
    logins_file = tmp_path / "d" / "demo-logins.txt"
    assert logins_file.stat().st_mode & 0o777 == 0o600
