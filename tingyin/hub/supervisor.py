"""Starts, watches and restarts the media workers and Kamailio.

A worker that dies loses only its own calls: they are marked failed, their recordings' headers
are repaired so what reached the disk stays playable, and the worker is started again on the
same ports while the other workers carry on.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tingyin.bus import EventBus
from tingyin.bus.events import (
    CallEnded,
    CallFailed,
    CallRinging,
    Event,
    WorkerExited,
    WorkerReady,
)
from tingyin.config import Settings
from tingyin.telephony.ipc import HubListener
from tingyin.telephony.kamailio import KamailioError, KamailioPlan, KamailioProcess, write_files
from tingyin.telephony.ports import free_port

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


class StartupError(Exception):
    pass


@dataclass
class WorkerSlot:
    index: int
    sip_port: int
    rtp_port: int
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0
    stopping: bool = False
    active_calls: set[str] = field(default_factory=set)


class Supervisor:
    def __init__(self, settings: Settings, bus: EventBus, listener: HubListener) -> None:
        self.settings = settings
        self.bus = bus
        self.listener = listener
        self.slots: list[WorkerSlot] = []
        self.kamailio: KamailioProcess | None = None
        self.sip_port = 0
        self._monitor: asyncio.Task[None] | None = None
        self._greeting: Path | None = None
        self.logs_dir = settings.data_dir / "logs"
        self.stream_all = False  # set before start() when live transcription is on
        bus.subscribe(Event, self._track)

    # -- start / stop ---------------------------------------------------------------------
    async def start(self, greeting: Path | None, timeout: float = 30.0) -> None:
        sip = self.settings.sip
        self._greeting = greeting
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.sip_port = sip.port or free_port(sip.bind_address)
        used = {self.sip_port}
        for index in range(sip.workers):
            if not sip.use_kamailio:
                port = self.sip_port
            elif sip.worker_base_port:
                port = sip.worker_base_port + index
            else:
                port = free_port(sip.worker_address, frozenset(used))
            used.add(port)
            rtp = sip.rtp_port_base + index * sip.rtp_ports_per_worker
            self.slots.append(WorkerSlot(index=index, sip_port=port, rtp_port=rtp))
        for slot in self.slots:
            self._spawn(slot)
        await self._wait_workers_ready(timeout)
        if sip.use_kamailio:
            await self._start_kamailio(timeout)
        self._monitor = asyncio.get_running_loop().create_task(self._watch(), name="supervisor")

    async def stop(self, timeout: float = 5.0) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        if self.kamailio is not None:
            await asyncio.to_thread(self.kamailio.stop, timeout)
        for slot in self.slots:
            slot.stopping = True
            await self.listener.send_command(slot.index, {"command": "shutdown"})
        deadline = time.monotonic() + timeout
        for slot in self.slots:
            proc = slot.process
            if proc is None:
                continue
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
                await asyncio.to_thread(proc.wait)
            if slot.log_file is not None:
                slot.log_file.close()

    def health(self) -> dict[str, object]:
        workers = [
            {
                "index": s.index,
                "sip_port": s.sip_port,
                "pid": s.process.pid if s.process is not None else None,
                "alive": s.process is not None and s.process.poll() is None,
                "connected": self.listener.is_connected(s.index),
                "calls": len(s.active_calls),
                "restarts": s.restarts,
            }
            for s in self.slots
        ]
        kamailio = None
        if self.kamailio is not None:
            kamailio = {"alive": self.kamailio.poll() is None, "port": self.sip_port}
        return {"workers": workers, "kamailio": kamailio}

    # -- workers --------------------------------------------------------------------------
    def _spawn(self, slot: WorkerSlot) -> None:
        sip = self.settings.sip
        cmd = [
            sys.executable, "-m", "tingyin.telephony.worker",
            "--index", str(slot.index),
            "--sip-host", sip.worker_address if sip.use_kamailio else sip.bind_address,
            "--sip-port", str(slot.sip_port),
            "--rtp-port", str(slot.rtp_port),
            "--rtp-port-count", str(sip.rtp_ports_per_worker),
            "--transports", ",".join(sip.transports),
            "--codecs", ",".join(sip.codecs),
            "--recordings", str(self.settings.recordings_dir.resolve()),
            "--max-call-seconds", str(sip.max_call_seconds),
            "--answer-delay-ms", str(sip.answer_delay_ms),
            "--hub-socket", str(self.listener.path),
            "--log-level", self.settings.log_level,
        ]  # fmt: skip
        if self._greeting is not None:
            cmd += ["--greeting", str(self._greeting.resolve())]
        if self.stream_all:
            cmd.append("--stream-all")
        if slot.log_file is None:
            slot.log_file = (self.logs_dir / f"worker-{slot.index}.log").open("ab")
        slot.ready.clear()
        slot.process = subprocess.Popen(
            cmd,
            stdout=slot.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches the hub, which stops us
        )

    async def _wait_workers_ready(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                for slot in self.slots:
                    while not slot.ready.is_set():
                        if slot.process is not None and slot.process.poll() is not None:
                            raise StartupError(
                                f"media worker {slot.index} exited with code "
                                f"{slot.process.returncode} (see {self.logs_dir}/worker-"
                                f"{slot.index}.log; is port {slot.sip_port} in use?)"
                            )
                        await asyncio.sleep(0.05)
        except TimeoutError:
            raise StartupError(f"media workers not ready after {timeout:.0f} s") from None

    async def _start_kamailio(self, timeout: float) -> None:
        sip = self.settings.sip
        plan = KamailioPlan(
            listen_host=sip.bind_address,
            listen_port=self.sip_port,
            transports=tuple(sip.transports),
            workers=tuple((sip.worker_address, s.sip_port) for s in self.slots),
            run_dir=(self.settings.run_dir / "kamailio").resolve(),
        )
        cfg = write_files(plan)
        self.kamailio = KamailioProcess(cfg, plan, binary=sip.kamailio_binary)
        self.kamailio.start()
        ok = await asyncio.to_thread(self.kamailio.wait_ready, timeout)
        if not ok:
            raise StartupError(
                f"Kamailio did not answer on port {self.sip_port}; see {plan.run_dir}"
            )

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for slot in self.slots:
                proc = slot.process
                if proc is None or slot.stopping or proc.poll() is None:
                    continue
                code = proc.returncode
                log.error("media worker %d exited with code %s; restarting", slot.index, code)
                lost = tuple(sorted(slot.active_calls))
                slot.active_calls.clear()
                self.bus.publish(WorkerExited(worker=slot.index, exit_code=code, active_calls=lost))
                delay = RESTART_BACKOFF_S[min(slot.restarts, len(RESTART_BACKOFF_S) - 1)]
                slot.restarts += 1
                slot.process = None
                await asyncio.sleep(delay)
                self._spawn(slot)
            if self.kamailio is not None and self.kamailio.poll() is not None:
                log.error("Kamailio exited; restarting it")
                try:
                    await asyncio.to_thread(self.kamailio.start)
                except KamailioError as exc:  # e.g. its port is briefly still taken
                    log.error("Kamailio restart failed (%s); retrying in 1 s", exc)
                    await asyncio.sleep(1.0)

    async def _track(self, event: Event) -> None:
        if isinstance(event, WorkerReady) and 0 <= event.worker < len(self.slots):
            self.slots[event.worker].ready.set()
        elif isinstance(event, CallRinging) and 0 <= event.worker < len(self.slots):
            self.slots[event.worker].active_calls.add(event.call_id)
        elif isinstance(event, CallEnded | CallFailed):
            for slot in self.slots:
                slot.active_calls.discard(event.call_id)

    def least_busy_worker(self, max_calls: int = 4) -> int | None:
        """A connected worker with a free call slot, the one with the fewest calls first."""
        free = [
            s
            for s in self.slots
            if s.ready.is_set()
            and self.listener.is_connected(s.index)
            and len(s.active_calls) < max_calls
        ]
        return min(free, key=lambda s: len(s.active_calls)).index if free else None

    def worker_of(self, call_id: str) -> int | None:
        """The worker holding a call in progress, if any."""
        for slot in self.slots:
            if call_id in slot.active_calls:
                return slot.index
        return None
