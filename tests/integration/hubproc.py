"""A real ``tingyin serve`` for integration tests: started on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

PASSWORD = "integration-pass-1"
ROLES = ("admin", "supervisor", "qa", "agent")


@dataclass
class RunningHub:
    proc: subprocess.Popen[str]
    data_dir: Path
    sip_host: str
    sip_port: int
    http_url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.http_url, headers=headers, timeout=10)

    def get(self, path: str, role: str | None = "admin", **params: Any) -> httpx.Response:
        with self.client(role) as client:
            return client.get(path, params=params)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/api/health", role=None).json()
        return body

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def calls(self) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.get("/api/calls", limit=500).json()
        return body

    def wait_calls_finished(
        self, n: int, timeout: float = 40.0, since: set[str] | None = None
    ) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            calls = [c for c in self.calls() if not since or c["id"] not in since]
            finished = [c for c in calls if c["ended_at"] is not None]
            return finished if len(finished) >= n and len(finished) == len(calls) else None

        result: list[dict[str, Any]] = self.wait_for(f"{n} finished calls", done, timeout)
        return result

    def logs(self) -> str:
        parts = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            parts.append(f"----- {log.name} -----\n{log.read_text(errors='replace')[-4000:]}")
        kam = self.data_dir / "run" / "kamailio" / "kamailio.log"
        if kam.is_file():
            parts.append(f"----- kamailio.log -----\n{kam.read_text(errors='replace')[-3000:]}")
        hub_log = self.data_dir / "hub.log"
        if hub_log.is_file():
            parts.append(f"----- hub.log -----\n{hub_log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


def add_users(data_dir: Path) -> None:
    for role in ROLES:
        subprocess.run(
            [sys.executable, "-m", "tingyin.cli", "users", "add", f"it-{role}", "--role", role,
             "--data-dir", str(data_dir)],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def start_hub(
    data_dir: Path,
    workers: int = 4,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> RunningHub:
    data_dir.mkdir(parents=True, exist_ok=True)
    add_users(data_dir)
    env = dict(
        os.environ,
        TINGYIN_SIP__RTP_PORT_BASE=str(20000 + (os.getpid() % 300) * 100),
        # Prompts are content-addressed: every test hub shares one cache instead of re-synthesising.
        TINGYIN_IVR__PROMPT_CACHE=str(Path(tempfile.gettempdir()) / "tingyin-test-prompts"),
        **(env or {}),
    )
    hub_log = (data_dir / "hub.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingyin.cli", "serve", "--data-dir", str(data_dir),
         "--sip-port", "0", "--http-port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=hub_log, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline().strip()
            if line.startswith("ready "):
                break
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(
            f"hub did not become ready: {line!r}\n{(data_dir / 'hub.log').read_text()}"
        )
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    sip_host, sip_port = fields["sip"].rsplit(":", 1)
    hub = RunningHub(proc, data_dir, sip_host, int(sip_port), fields["http"])
    for role in ROLES:
        response = httpx.post(
            f"{hub.http_url}/api/auth/token",
            data={"username": f"it-{role}", "password": PASSWORD},
            timeout=10,
        )
        response.raise_for_status()
        hub.tokens[role] = response.json()["access_token"]
    return hub


def stop_hub(hub: RunningHub, timeout: float = 20.0) -> int:
    if hub.proc.poll() is None:
        hub.proc.send_signal(signal.SIGTERM)
        try:
            hub.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            hub.proc.kill()
            hub.proc.wait()
    return int(hub.proc.returncode)


@contextlib.contextmanager
def serving_module(request: pytest.FixtureRequest, hub: RunningHub) -> Iterator[RunningHub]:
    """Stop a module's hub at the end; print its logs if a test failed or it exited badly."""
    try:
        yield hub
    finally:
        code = stop_hub(hub)
        if request.module.__dict__.get("_tingyin_failed") or code != 0:
            print(f"\nhub exit code {code}; logs:\n{hub.logs()}")
