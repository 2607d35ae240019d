"""IPC between media workers and the hub: one unix stream socket per worker.

Frames are ``kind (1 byte) | length (4 bytes, big endian) | payload``:
``E`` an event (JSON, see tingyin.bus.codec) worker → hub; ``H`` hello (JSON: worker index)
worker → hub; ``C`` a command (JSON) hub → worker; ``A`` audio worker → hub, sent only for calls
the hub asked for with a ``stream`` command (or every call, for ASR): ``call id (32 ASCII) |
offset (8 bytes: samples into the call's recording) | caller PCM length (4 bytes) | caller PCM |
other side PCM`` (16-bit 8 kHz mono each, about 100 ms per frame). The offset lets a consumer
place audio on the recording's time line and notice gaps. A browser agent's leg (the softphone)
adds two kinds of 20 ms frames, ``leg id (32 ASCII) | PCM``: ``P`` hub → worker, the agent's
microphone into the call; ``L`` worker → hub, what the agent hears. Unix sockets
were chosen over shared memory: bench/ipc_cost.py measures what a stream costs.

The worker side never blocks a pjsip thread: events go into a bounded queue drained by a sender
thread; if the hub is unreachable, the oldest events are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tingyin.bus.codec import decode_event, encode_event
from tingyin.bus.events import Event
from tingyin.bus.framing import HEADER, MAX_FRAME, pack, recv_frame

log = logging.getLogger(__name__)

KIND_EVENT = b"E"
KIND_HELLO = b"H"
KIND_COMMAND = b"C"
KIND_AUDIO = b"A"
KIND_PCM_IN = b"P"
KIND_LEG_AUDIO = b"L"
CALL_ID_BYTES = 32
_AUDIO_HEAD = struct.Struct(">QI")


def pack_audio(call_id: str, offset: int, left: bytes, right: bytes) -> bytes:
    head = call_id.encode("ascii")
    if len(head) != CALL_ID_BYTES:
        raise ValueError(f"call id must be {CALL_ID_BYTES} characters: {call_id!r}")
    return head + _AUDIO_HEAD.pack(offset, len(left)) + left + right


def unpack_audio(payload: bytes) -> tuple[str, int, bytes, bytes]:
    if len(payload) < CALL_ID_BYTES + _AUDIO_HEAD.size:
        raise ValueError("audio frame too short")
    call_id = payload[:CALL_ID_BYTES].decode("ascii")
    offset, n_left = _AUDIO_HEAD.unpack_from(payload, CALL_ID_BYTES)
    start = CALL_ID_BYTES + _AUDIO_HEAD.size
    if start + n_left > len(payload):
        raise ValueError("audio frame length field overruns the frame")
    return call_id, offset, payload[start : start + n_left], payload[start + n_left :]


def pack_leg(leg_id: str, pcm: bytes) -> bytes:
    head = leg_id.encode("ascii")
    if len(head) != CALL_ID_BYTES:
        raise ValueError(f"leg id must be {CALL_ID_BYTES} characters: {leg_id!r}")
    return head + pcm


def unpack_leg(payload: bytes) -> tuple[str, bytes]:
    if len(payload) < CALL_ID_BYTES:
        raise ValueError("leg frame too short")
    return payload[:CALL_ID_BYTES].decode("ascii"), payload[CALL_ID_BYTES:]


# (call id, offset in samples, caller PCM, other side PCM)
AudioHandler = Callable[[str, int, bytes, bytes], None]
# (leg id, 20 ms of PCM)
LegAudioHandler = Callable[[str, bytes], None]
MAX_PCM_BACKLOG = 64 * 1024  # bytes unsent to a worker before microphone frames are dropped


class WorkerLink:
    """The worker's end: send events, receive commands (handed to ``on_command``)."""

    def __init__(
        self,
        path: Path,
        worker: int,
        on_command: Callable[[dict[str, Any]], None],
        max_queued: int = 10_000,
        on_pcm: LegAudioHandler | None = None,
    ) -> None:
        self._path = path
        self._worker = worker
        self._on_command = on_command
        self.on_pcm = on_pcm
        self._outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=max_queued)
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self.dropped = 0
        self._sender = threading.Thread(target=self._send_loop, name="ipc-send", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sender.start()

    def send_event(self, event: Event) -> None:
        self._put(pack(KIND_EVENT, encode_event(event)))

    def send_audio(self, call_id: str, offset: int, left: bytes, right: bytes) -> None:
        self._put(pack(KIND_AUDIO, pack_audio(call_id, offset, left, right)))

    def send_leg_audio(self, leg_id: str, pcm: bytes) -> None:
        self._put(pack(KIND_LEG_AUDIO, pack_leg(leg_id, pcm)))

    def close(self, timeout: float = 2.0) -> None:
        """Flush queued events, then close."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put(None, timeout=timeout)
        self._sender.join(timeout)
        if self._sock is not None:
            self._sock.close()

    def _put(self, frame: bytes) -> None:
        while True:
            try:
                self._outbox.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._outbox.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(self._path))
        hello = json.dumps({"worker": self._worker}).encode()
        sock.sendall(pack(KIND_HELLO, hello))
        self._sock = sock
        threading.Thread(
            target=self._receive_loop, args=(sock,), name="ipc-recv", daemon=True
        ).start()

    def _send_loop(self) -> None:
        while True:
            frame = self._outbox.get()
            if frame is None:
                return
            while True:
                try:
                    assert self._sock is not None
                    self._sock.sendall(frame)
                    break
                except OSError:
                    if self._stopping.is_set():
                        return
                    time.sleep(0.2)
                    try:
                        self._connect()
                    except OSError:
                        continue

    def _receive_loop(self, sock: socket.socket) -> None:
        try:
            while True:
                kind, payload = recv_frame(sock)
                if kind == KIND_COMMAND:
                    self._on_command(json.loads(payload))
                elif kind == KIND_PCM_IN and self.on_pcm is not None:
                    self.on_pcm(*unpack_leg(payload))
        except (OSError, ConnectionError, ValueError):
            if not self._stopping.is_set():
                self._on_command({"command": "hub-lost"})


class HubListener:
    """The hub's end: accepts worker connections, decodes their events, sends commands."""

    def __init__(
        self,
        path: Path,
        on_event: Callable[[int, Event], None],
        on_audio: AudioHandler | None = None,
    ) -> None:
        self.path = path
        self._on_event = on_event
        self.on_audio = on_audio
        self.on_leg_audio: LegAudioHandler | None = None
        self.pcm_dropped = 0
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._server: asyncio.Server | None = None
        self.connected: asyncio.Event = asyncio.Event()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers.values()):
                writer.close()
            await self._server.wait_closed()
        self.path.unlink(missing_ok=True)

    def is_connected(self, worker: int) -> bool:
        return worker in self._writers

    async def send_command(self, worker: int, command: dict[str, Any]) -> bool:
        writer = self._writers.get(worker)
        if writer is None:
            return False
        try:
            writer.write(pack(KIND_COMMAND, json.dumps(command).encode()))
            await writer.drain()
            return True
        except (ConnectionError, OSError):
            return False

    def send_pcm(self, worker: int, leg_id: str, pcm: bytes) -> bool:
        """A browser agent's microphone frame into a leg on ``worker``; never waits: a worker
        that does not keep up loses frames (counted) rather than delaying the rest."""
        writer = self._writers.get(worker)
        if writer is None or writer.is_closing():
            return False
        if writer.transport.get_write_buffer_size() > MAX_PCM_BACKLOG:
            self.pcm_dropped += 1
            return False
        writer.write(pack(KIND_PCM_IN, pack_leg(leg_id, pcm)))
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        worker = -1
        try:
            while True:
                head = await reader.readexactly(HEADER.size)
                kind, length = HEADER.unpack(head)
                if length > MAX_FRAME:
                    log.error(
                        "worker %s sent an oversized frame (%d bytes); closing", worker, length
                    )
                    return
                payload = await reader.readexactly(length)
                if kind == KIND_HELLO:
                    worker = int(json.loads(payload)["worker"])
                    self._writers[worker] = writer
                    self.connected.set()
                elif kind == KIND_EVENT:
                    try:
                        self._on_event(worker, decode_event(payload))
                    except ValueError:
                        log.exception("worker %s sent an undecodable event", worker)
                elif kind == KIND_LEG_AUDIO and self.on_leg_audio is not None:
                    try:
                        self.on_leg_audio(*unpack_leg(payload))
                    except ValueError:
                        log.exception("worker %s sent a bad leg audio frame", worker)
                elif kind == KIND_AUDIO and self.on_audio is not None:
                    try:
                        self.on_audio(*unpack_audio(payload))
                    except ValueError:
                        log.exception("worker %s sent a bad audio frame", worker)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if self._writers.get(worker) is writer:
                del self._writers[worker]
            writer.close()
