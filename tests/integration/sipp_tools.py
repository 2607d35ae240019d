"""Helpers for integration tests that drive SIP with SIPp (Debian `sip-tester`) on loopback."""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"
SCENARIOS = Path(__file__).with_name("sipp")


def sipp_binary() -> str:
    # A missing SIP client is a test failure, never a skip (see ARCHITECTURE.md).
    found = shutil.which("sipp")
    if found is None:
        raise RuntimeError("sipp not found: install the Debian package sip-tester")
    return found


def free_port(kind: str = "udp") -> int:
    """A port on 127.0.0.1 free for both UDP and TCP right now (`kind` is bound first)."""
    first, second = (
        (socket.SOCK_DGRAM, socket.SOCK_STREAM)
        if kind == "udp"
        else (socket.SOCK_STREAM, socket.SOCK_DGRAM)
    )
    for _ in range(100):
        with socket.socket(socket.AF_INET, first) as a:
            a.bind((HOST, 0))
            port: int = a.getsockname()[1]
            with socket.socket(socket.AF_INET, second) as b:
                try:
                    b.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def port_bound(port: int, kind: str = "udp") -> bool:
    """Whether something already holds `port` on 127.0.0.1 (we cannot bind it)."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, sock_type) as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def wait_port_bound(port: int, kind: str = "udp", timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_bound(port, kind):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing bound {kind} port {port} within {timeout}s")
        time.sleep(0.02)


def sipp_command(args: list[str]) -> list[str]:
    # -nostdin: no keyboard control (we run without a terminal).
    return [sipp_binary(), "-nostdin", *args]


def run_sipp(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run SIPp to completion (e.g. a UAC with -m N); exit code 0 means every call succeeded."""
    return subprocess.run(
        sipp_command(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def start_sipp(args: list[str], output: Path) -> subprocess.Popen[bytes]:
    """Start a long-running SIPp (e.g. a UAS); its screen output goes to `output`."""
    with output.open("wb") as out:
        return subprocess.Popen(
            sipp_command(args), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def tail(path: Path, max_bytes: int = 6000) -> str:
    try:
        return path.read_bytes()[-max_bytes:].decode("utf-8", "replace")
    except FileNotFoundError:
        return f"({path} missing)"
