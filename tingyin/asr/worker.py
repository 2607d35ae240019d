"""ASR worker processes: ``python -m tingyin.asr.worker``.

The host process loads the model once and forks the workers, which share its memory; it re-forks
any worker that dies (the model is already in memory, so a replacement is ready in about a
second). Each worker connects to the hub, keeps a pool of warm recognizers and runs one thread
per leg: Vosk releases the GIL while decoding, so threads use the cores. A file job (post-call
pass) runs on a thread with a lower priority (nice 10) so live legs keep theirs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import vosk

from tingyin.asr.engine import RecognizerPool, load_model
from tingyin.asr.link import (
    KIND_AUDIO,
    KIND_COMMAND,
    KIND_EVENT,
    KIND_HELLO,
    KIND_STATUS,
    split_key,
    unpack_leg_audio,
)
from tingyin.asr.offline import RecordingError, transcribe_channel
from tingyin.asr.stream import LegTranscriber
from tingyin.bus.codec import encode_event
from tingyin.bus.events import Event
from tingyin.bus.framing import pack, recv_frame
from tingyin.logsetup import configure_logging

log = logging.getLogger("tingyin.asr")

LEG_QUEUE_CHUNKS = 100  # ~10 s of 100 ms chunks; beyond that the oldest audio is dropped
STATUS_INTERVAL_S = 0.5
RESPAWN_DELAY_S = 0.5
JOB_NICE = 10


class LiveLeg:
    def __init__(self, key: str, worker: AsrWorker) -> None:
        self.key = key
        self._worker = worker
        self._queue: queue.Queue[tuple[float, int, bytes] | None] = queue.Queue(
            maxsize=LEG_QUEUE_CHUNKS
        )
        self.dropped = 0
        self.lags: deque[float] = deque(maxlen=20)
        self.thread = threading.Thread(target=self._run, name=f"leg-{key[-12:]}", daemon=True)

    def put(self, offset: int, pcm: bytes) -> None:
        item = (time.monotonic(), offset, pcm)
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                    self.dropped += 1

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        worker = self._worker
        call_id, leg = split_key(self.key)
        rec = worker.pool.take()
        dump = worker.dump_file(call_id, leg)
        transcriber = LegTranscriber(
            call_id, leg, rec, worker.emit, silence_ms=worker.silence_ms, dump=dump
        )
        try:
            while (item := self._queue.get()) is not None:
                arrived, offset, pcm = item
                transcriber.feed(offset, pcm)
                self.lags.append(time.monotonic() - arrived)
            report = transcriber.finish()
        finally:
            if dump is not None:
                dump.close()
            worker.pool.give_back(rec)
            worker.legs.pop(self.key, None)
        worker.status(
            {"type": "leg_done", "key": self.key, "dropped": self.dropped, **asdict(report)}
        )


class AsrWorker:
    def __init__(
        self,
        index: int,
        model: vosk.Model,
        sock: socket.socket,
        *,
        silence_ms: int,
        dump_dir: Path | None,
        warm: int,
    ) -> None:
        self.index = index
        self.pool = RecognizerPool(model, 8000, warm=warm)
        self.silence_ms = silence_ms
        self._dump_dir = dump_dir
        self._sock = sock
        self._send_lock = threading.Lock()
        self.legs: dict[str, LiveLeg] = {}
        self.jobs = 0

    def send(self, kind: bytes, payload: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(pack(kind, payload))

    def emit(self, event: Event) -> None:
        self.send(KIND_EVENT, encode_event(event))

    def status(self, body: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.send(KIND_STATUS, json.dumps(body).encode())

    def dump_file(self, call_id: str, leg: str) -> BinaryIO | None:
        if self._dump_dir is None:
            return None
        self._dump_dir.mkdir(parents=True, exist_ok=True)
        return (self._dump_dir / f"{call_id}-{leg}.pcm").open("wb")

    def run(self) -> None:
        self.send(KIND_HELLO, json.dumps({"index": self.index, "pid": os.getpid()}).encode())
        threading.Thread(target=self._report_load, name="asr-status", daemon=True).start()
        while True:
            kind, payload = recv_frame(self._sock)
            if kind == KIND_AUDIO:
                key, offset, pcm = unpack_leg_audio(payload)
                live = self.legs.get(key)
                if live is not None:
                    live.put(offset, pcm)
            elif kind == KIND_COMMAND:
                body = json.loads(payload)
                if body.get("op") == "shutdown":
                    return
                self._command(body)

    def _command(self, body: dict[str, Any]) -> None:
        op, key = body.get("op"), str(body.get("key", ""))
        if op == "open" and key not in self.legs:
            live = self.legs[key] = LiveLeg(key, self)
            live.thread.start()
        elif op == "close" and key in self.legs:
            self.legs[key].close()
        elif op == "file":
            self.jobs += 1
            args = (key, Path(str(body["path"])))
            threading.Thread(target=self._file_job, args=args, name="asr-job", daemon=True).start()

    def _file_job(self, key: str, path: Path) -> None:
        with contextlib.suppress(OSError):  # lower this thread only: live legs come first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICE)
        call_id, leg = split_key(key)
        rec = self.pool.take()
        try:
            report = transcribe_channel(
                path, call_id, leg, rec, self.emit, silence_ms=self.silence_ms
            )
            self.status({"type": "job_done", "key": key, "ok": True, **asdict(report)})
        except (RecordingError, OSError) as exc:
            self.status({"type": "job_done", "key": key, "ok": False, "error": str(exc)})
        finally:
            self.pool.give_back(rec)
            self.jobs -= 1

    def _report_load(self) -> None:
        while True:
            time.sleep(STATUS_INTERVAL_S)
            lags = {
                key: round(max(live.lags, default=0.0) * 1000.0, 1)
                for key, live in list(self.legs.items())
            }
            self.status({"type": "load", "lag_ms": lags, "jobs": self.jobs})


def _connect(path: Path, timeout: float = 10.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _child(index: int, model: vosk.Model, args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the hub stops us, not the terminal
    try:
        sock = _connect(args.socket)
        worker = AsrWorker(
            index,
            model,
            sock,
            silence_ms=args.silence_ms,
            dump_dir=args.dump_dir,
            warm=args.warm,
        )
        worker.run()
    except (OSError, ConnectionError, ValueError) as exc:
        log.info("ASR worker %d: link to the hub ended (%s)", index, exc)
    return 0


def _fork(index: int, model: vosk.Model, args: argparse.Namespace) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(index, model, args)
        finally:
            os._exit(code)
    return pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tingyin-asr")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warm", type=int, default=2, help="recognizers warmed per worker")
    parser.add_argument("--silence-ms", type=int, default=300)
    parser.add_argument("--dump-dir", type=Path, default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, "asr")
    started = time.monotonic()
    model = load_model(args.model)  # before forking: the workers share its pages
    log.info("model %s loaded in %.1f s", args.model.name, time.monotonic() - started)
    hub = os.getppid()
    stopping = False

    def stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {_fork(i, model, args): i for i in range(args.workers)}
    while not stopping and os.getppid() == hub:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            time.sleep(0.2)
            continue
        index = children.pop(pid, None)
        if index is None:
            continue
        log.warning("ASR worker %d exited (status %d); starting it again", index, status)
        time.sleep(RESPAWN_DELAY_S)
        children[_fork(index, model, args)] = index
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
