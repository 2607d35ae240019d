"""Kamailio in front of fake media workers (SIPp UAS processes), driven by a SIPp caller.

Real processes on loopback, no mocks: round-robin dispatch, failover past a busy worker and a
dead one, ACK/BYE through the record-route, TCP callers, and survival after garbage input.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.sipp_tools import (
    HOST,
    SCENARIOS,
    free_port,
    run_sipp,
    start_sipp,
    stop_process,
    tail,
    wait_port_bound,
)
from tingyin.telephony.kamailio import (
    KamailioError,
    KamailioPlan,
    KamailioProcess,
    sip_options,
    write_files,
)

pytestmark = pytest.mark.integration


@dataclass
class Worker:
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    def count(self, method: str) -> int:
        """How many new requests of `method` this worker's scenario logged."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text().splitlines() if line.startswith(method))


@dataclass
class Harness:
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    kamailio: KamailioProcess | None = None

    def worker(self, scenario: str, port: int | None = None) -> Worker:
        port = port or free_port()
        log, out = self.tmp / f"worker-{port}.log", self.tmp / f"worker-{port}.out"
        args = ["-sf", str(SCENARIOS / scenario), "-i", HOST, "-p", str(port), "-t", "u1"]
        proc = start_sipp([*args, "-trace_logs", "-log_file", str(log)], out)
        self.procs.append(proc)
        self.outputs.append(out)
        wait_port_bound(port)
        return Worker(port, log, proc)

    def start_kamailio(self, worker_ports: list[int]) -> KamailioProcess:
        plan = KamailioPlan(
            listen_host=HOST,
            listen_port=free_port(),
            transports=("udp", "tcp"),
            workers=tuple((HOST, p) for p in worker_ports),
            run_dir=self.tmp / "kamailio",
        )
        self.kamailio = KamailioProcess(write_files(plan), plan)
        self.kamailio.start()
        assert self.kamailio.wait_ready(timeout=10), "Kamailio did not answer OPTIONS"
        return self.kamailio

    def call(
        self, calls: int, transport: str = "u1", scenario: str = "caller.xml"
    ) -> subprocess.CompletedProcess[str]:
        assert self.kamailio is not None
        target = f"{HOST}:{self.kamailio.plan.listen_port}"
        errors = self.tmp / f"caller-{time.monotonic_ns()}.err"
        result = run_sipp(
            [
                *(target, "-sf", str(SCENARIOS / scenario), "-s", "1000"),
                *("-i", HOST, "-p", str(free_port("tcp" if transport == "t1" else "udp"))),
                *("-t", transport, "-m", str(calls), "-r", "20", "-l", "4"),
                *("-timeout", "10", "-timeout_error", "-trace_err", "-error_file", str(errors)),
            ],
            timeout=20,
        )
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-2000:], tail(errors), sep="\n")
        return result

    def close(self) -> None:
        if self.kamailio is not None:
            self.kamailio.stop()
            # Captured output: pytest shows it only when the test fails.
            print("==== kamailio.log ====\n" + self.kamailio.log_tail(12000))
        for proc in self.procs:
            stop_process(proc)
        for out in self.outputs:
            print(f"==== {out.name} ====\n{tail(out, 2000)}")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


def test_round_robin_and_busy_worker_failover(harness: Harness) -> None:
    ok1, busy, ok2 = (
        harness.worker(s) for s in ("worker_ok.xml", "worker_busy.xml", "worker_ok.xml")
    )
    harness.start_kamailio([ok1.port, busy.port, ok2.port])

    result = harness.call(6)

    assert result.returncode == 0, "every call must complete"
    time.sleep(0.2)  # let the workers' log lines land
    # Round-robin gave the busy worker its share; each of those calls moved on to a free one.
    assert busy.count("INVITE") >= 1
    assert ok1.count("INVITE") >= 1 and ok2.count("INVITE") >= 1
    assert ok1.count("INVITE") + ok2.count("INVITE") == 6
    # BYE followed the record-route back to the worker that took the call.
    assert ok1.count("BYE") + ok2.count("BYE") == 6
    assert ok1.count("BYE") == ok1.count("INVITE")


def test_tcp_caller(harness: Harness) -> None:
    ok1, ok2 = harness.worker("worker_ok.xml"), harness.worker("worker_ok.xml")
    harness.start_kamailio([ok1.port, ok2.port])

    result = harness.call(4, transport="t1")

    assert result.returncode == 0
    time.sleep(0.2)
    assert ok1.count("BYE") + ok2.count("BYE") == 4
    assert ok1.count("INVITE") == ok2.count("INVITE") == 2


def test_all_workers_busy_gives_486(harness: Harness) -> None:
    busy1, busy2 = harness.worker("worker_busy.xml"), harness.worker("worker_busy.xml")
    harness.start_kamailio([busy1.port, busy2.port])

    result = harness.call(2, scenario="caller_busy.xml")

    assert result.returncode == 0, "the caller must get 486 Busy Here"
    time.sleep(0.2)
    assert busy1.count("INVITE") == busy2.count("INVITE") == 2, "both workers tried per call"


class SipResponder:
    """A minimal UDP SIP endpoint: 200 to OPTIONS, 486 to INVITE, silence to anything else."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, port))
        self.sock.settimeout(0.05)
        self.invites = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            head = data.decode("utf-8", "replace").split("\r\n\r\n", 1)[0].split("\r\n")
            method = head[0].split(" ", 1)[0]
            keep = [h for h in head[1:] if re.match(r"(?i)(via|from|to|call-id|cseq):", h)]
            if method == "OPTIONS":
                status = "200 OK"
            elif method == "INVITE":
                self.invites += 1
                status = "486 Busy Here"
                keep = [h + ";tag=r" if h.lower().startswith("to:") else h for h in keep]
            else:
                continue
            reply = f"SIP/2.0 {status}\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
            self.sock.sendto(reply.encode(), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def wait_for_log(kamailio: KamailioProcess, needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in kamailio.log_tail(100_000):
            return True
        time.sleep(0.1)
    return False


def test_dead_worker_is_skipped_then_readmitted(harness: Harness) -> None:
    dead_port = free_port()  # nothing listens here yet
    ok = harness.worker("worker_ok.xml")
    kamailio = harness.start_kamailio([dead_port, ok.port])
    dead = f"worker sip:{HOST}:{dead_port}"

    # Calls sent to the dead worker wait out fr_timer (2 s), then fail over to the live one;
    # the first such timeout marks it inactive.
    assert harness.call(4).returncode == 0
    log = kamailio.log_tail(100_000)
    assert f"{dead} did not answer INVITE" in log
    assert log.count(f"{dead} is down") == 1

    # From now on no call waits on it.
    started = time.monotonic()
    assert harness.call(4).returncode == 0
    assert time.monotonic() - started < 1.5
    assert kamailio.log_tail(100_000).count("did not answer") == log.count("did not answer")
    time.sleep(0.2)
    assert ok.count("INVITE") == ok.count("BYE") == 8

    # It comes back: the dispatcher's OPTIONS probe readmits it within ~2 s.
    responder = SipResponder(dead_port)
    try:
        assert wait_for_log(kamailio, f"{dead} is up again", 5)
        assert harness.call(2).returncode == 0
        assert responder.invites == 1, "round-robin sends it calls again (it says busy)"
    finally:
        responder.close()


GARBAGE_SIP = [
    b"",
    b"\r\n\r\n",
    b"\x00" * 64,
    b"SIP/2.0 200 OK\r\n\r\n",  # a reply with no Via, matching nothing
    b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\n\r\n",
    b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nv=0",
    b"INVITE  SIP/2.0\r\n\r\n",
    b"OPTIONS sip:\xff\xfe@127.0.0.1 SIP/9.9\r\nCSeq: x\r\n\r\n",
]

# Parses fine but fails sanity (CSeq method differs from the request method): Kamailio must
# answer 400 itself and dispatch nothing.
INSANE_INVITE = (
    "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKinsane;rport\r\n"
    "From: <sip:x@{host}>;tag=1\r\n"
    "To: <sip:1000@127.0.0.1>\r\n"
    "Call-ID: insane@{host}\r\n"
    "CSeq: 1 BYE\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_survives_garbage_and_malformed_sip(harness: Harness) -> None:
    ok = harness.worker("worker_ok.xml")
    kamailio = harness.start_kamailio([ok.port])
    port = kamailio.plan.listen_port

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((HOST, 0))
        for payload in [*GARBAGE_SIP, *(os.urandom(n) for n in (1, 100, 1400, 60000))]:
            udp.sendto(payload, (HOST, port))
        udp.settimeout(2)
        lhost, lport = udp.getsockname()
        udp.sendto(INSANE_INVITE.format(host=lhost, port=lport).encode(), (HOST, port))
        reply = udp.recv(65535)
        assert reply.startswith(b"SIP/2.0 400 "), reply[:80]
    for payload in [os.urandom(2000), b"INVITE sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n"]:
        with socket.create_connection((HOST, port), timeout=2) as tcp:
            tcp.sendall(payload)

    assert kamailio.poll() is None, "Kamailio must still be running"
    assert sip_options(HOST, port, "udp") == 200
    assert harness.call(2).returncode == 0
    assert harness.call(2, transport="t1").returncode == 0
    time.sleep(0.2)
    assert ok.count("INVITE") == ok.count("BYE") == 4, "garbage must never reach a worker"


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_worker_hangs_up(harness: Harness, transport: str) -> None:
    worker = harness.worker("worker_hangup.xml")
    harness.start_kamailio([worker.port])

    result = harness.call(2, transport=transport, scenario="caller_hung_up_on.xml")

    assert result.returncode == 0, "the worker's BYE must reach the caller through Kamailio"
    time.sleep(0.2)
    assert worker.count("BYE-ANSWERED") == 2


def test_caller_cancels_while_ringing(harness: Harness) -> None:
    worker = harness.worker("worker_ringing.xml")
    harness.start_kamailio([worker.port])

    result = harness.call(2, scenario="caller_cancel.xml")

    assert result.returncode == 0, "caller must get 200 for CANCEL and 487 for the INVITE"
    time.sleep(0.2)
    assert worker.count("CANCEL") == 2


def test_restart_after_main_process_killed(harness: Harness) -> None:
    ok = harness.worker("worker_ok.xml")
    kamailio = harness.start_kamailio([ok.port])
    old_group = kamailio.pid
    assert old_group is not None

    # Kamailio's children outlive a SIGKILLed main process and keep the ports; start() must
    # clear them out, or the new Kamailio cannot bind.
    os.kill(old_group, signal.SIGKILL)
    while kamailio.poll() is None:
        time.sleep(0.01)
    kamailio.start()

    assert kamailio.wait_ready(5), kamailio.log_tail()
    assert harness.call(2).returncode == 0
    assert kamailio.poll() is None, "the new Kamailio must have bound the ports"
    assert live_group_members(old_group) == []


def live_group_members(pgid: int) -> list[int]:
    """Processes of group `pgid` that are not zombies (orphans may wait a while to be reaped)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_start_refuses_a_port_in_use(harness: Harness) -> None:
    ok = harness.worker("worker_ok.xml")
    kamailio = harness.start_kamailio([ok.port])
    twin = KamailioProcess(kamailio.cfg, kamailio.plan)

    with pytest.raises(KamailioError, match="in use by another process"):
        twin.start()
    assert twin.poll() is None and twin.pid is None
