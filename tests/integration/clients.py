"""The SIP clients the tests call with: SIPp (built-in uac_pcap) and the pjsua2 test caller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PCAP_DIR = Path("/usr/share/sip-tester")


def sipp_uac_pcap(
    workdir: Path,
    host: str,
    port: int,
    *,
    calls: int = 1,
    concurrent: int = 1,
    rate: float = 10.0,
    dialed: str = "4008001234",
    timeout: float = 90.0,
) -> subprocess.CompletedProcess[str]:
    """SIPp's uac_pcap: G.711 A-law speech (~8 s) then an RFC 2833 '1', then BYE."""
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "pcap"
    if not pcap.exists():
        pcap.symlink_to(PCAP_DIR)  # the scenario reads pcap/g711a.pcap relative to the cwd
    return subprocess.run(
        ["sipp", "-sn", "uac_pcap", f"{host}:{port}", "-i", "127.0.0.1", "-p", "0",
         "-s", dialed, "-m", str(calls), "-l", str(concurrent), "-r", str(rate),
         "-nostdin", "-timeout", f"{int(timeout)}s", "-trace_err"],
        cwd=workdir, capture_output=True, text=True, timeout=timeout + 30,
    )  # fmt: skip


def place_test_call(
    uri: str,
    *,
    play: Path | None = None,
    record: Path | None = None,
    dtmf: str = "",
    dtmf_at: float = 1.0,
    hangup_after: float = 5.0,
    caller: str = "13800138000",
    transport: str = "udp",
    wait: bool = True,
    press: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tingyin.telephony.test_caller", uri, "--caller", caller,
           "--dtmf-at", str(dtmf_at), "--hangup-after", str(hangup_after),
           "--transport", transport, "--timeout", str(timeout)]  # fmt: skip
    for keys in press:  # "SECONDS:KEYS"
        cmd += ["--press", keys]
    if play:
        cmd += ["--play", str(play)]
    if record:
        cmd += ["--record", str(record)]
    if dtmf:
        cmd += ["--dtmf", dtmf]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        proc.wait(timeout=hangup_after + 40)
    return proc


def caller_outcome(proc: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"test caller printed no outcome (exit {proc.returncode}):\n{out}\n{err}"
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


def await_test_call(
    port: int, *, dtmf: str = "", dtmf_at: float = 1.0, record: Path | None = None,
    timeout: float = 60.0, play: Path | None = None, answer_after: float = 0.0,
) -> subprocess.Popen[str]:  # fmt: skip
    """The pjsua2 test caller as the called party (a customer's phone) on 127.0.0.1:``port``:
    answers the first call, presses ``dtmf`` ``dtmf_at`` s after answering, waits for the BYE."""
    cmd = [sys.executable, "-m", "tingyin.telephony.test_caller", "--answer-on", str(port),
           "--hangup-after", "0", "--dtmf-at", str(dtmf_at), "--timeout", str(timeout)]  # fmt: skip
    if dtmf:
        cmd += ["--dtmf", dtmf]
    if record:
        cmd += ["--record", str(record)]
    if play:
        cmd += ["--play", str(play)]
    if answer_after:
        cmd += ["--answer-after", str(answer_after)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # pjlib's banner first, then {"listening": port} once bound
        seen.append(line)
        if line.startswith('{"listening"'):
            return proc
    err = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"callee did not start:\n{''.join(seen)}{err}")
