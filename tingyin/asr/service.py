"""Runs live transcription for ``tingyin serve``: the ASR host process, its link, the dispatcher.

The host loads the model and forks the workers; if the host itself dies it is started again
(3 s to reload the model), and legs that were live then are filled post-call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from pathlib import Path
from typing import IO

from tingyin.asr.dispatch import AsrDispatcher
from tingyin.asr.link import AsrListener, command
from tingyin.bus import EventBus
from tingyin.config import Settings

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5


class AsrService:
    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        model_path: Path,
        socket_path: Path,
        model_name: str = "",
    ) -> None:
        asr = settings.asr
        self.settings = settings
        self.model_path = model_path
        self.model_name = model_name or model_path.name
        self.dispatcher = AsrDispatcher(
            bus, settings.recordings_dir.resolve(), asr.max_live_legs, asr.max_lag_ms
        )
        d = self.dispatcher
        self.listener = AsrListener(
            socket_path, d.on_connect, d.on_disconnect, d.on_event, d.on_status
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._log: IO[bytes] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def dump_dir(self) -> Path | None:
        return self.settings.data_dir / "asr-dump" if self.settings.asr.dump_audio else None

    async def start(self, timeout: float = 60.0) -> None:
        await self.listener.start()
        self._spawn()
        async with asyncio.timeout(timeout):
            while len(self.dispatcher.peers) < self.settings.asr.workers:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(
                        f"ASR host exited with code {self.process.returncode}; see "
                        f"{self.settings.data_dir / 'logs' / 'asr.log'}"
                    )
                await asyncio.sleep(0.05)
        self._watch = asyncio.get_running_loop().create_task(self._watch_loop(), name="asr")

    def _spawn(self) -> None:
        asr = self.settings.asr
        cmd = [
            sys.executable, "-m", "tingyin.asr.worker",
            "--socket", str(self.listener.path),
            "--model", str(self.model_path),
            "--workers", str(asr.workers),
            "--silence-ms", str(asr.endpoint_silence_ms),
            "--log-level", self.settings.log_level,
        ]  # fmt: skip
        if self.dump_dir is not None:
            cmd += ["--dump-dir", str(self.dump_dir.resolve())]
        if self._log is None:
            logs = self.settings.data_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            self._log = (logs / "asr.log").open("ab")
        self.process = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            self.dispatcher.check_stuck()
            if self.process is not None and self.process.poll() is not None and not self._stopping:
                log.error("ASR host exited (code %s); starting it again", self.process.returncode)
                self.restarts += 1
                self._spawn()

    async def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        for peer in list(self.dispatcher.peers.values()):
            peer.send(command({"op": "shutdown"}))
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
            except TimeoutError:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        await self.listener.stop()
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()

    def health(self) -> dict[str, object]:
        alive = self.process is not None and self.process.poll() is None
        return {"model": self.model_name, "host_alive": alive, "restarts": self.restarts} | (
            self.dispatcher.status()
        )
