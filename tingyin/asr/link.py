"""The link between the hub and its ASR workers: one unix socket per worker process.

Frames (tingyin.bus.framing): ``H`` hello (JSON: index, pid) worker → hub; ``C`` command (JSON:
``open``/``close`` a leg, ``file`` job, ``shutdown``) hub → worker; ``A`` a leg's audio hub →
worker: ``key length (1) | key | offset (8, samples into the recording) | 16-bit PCM``; ``E`` an
event (transcripts) worker → hub; ``S`` status JSON (load, lag, a leg's or a job's end)
worker → hub. A key is ``<call id>:<leg>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tingyin.bus.codec import EventDecodeError, decode_event
from tingyin.bus.events import Event
from tingyin.bus.framing import HEADER, MAX_FRAME, pack

log = logging.getLogger(__name__)

KIND_HELLO = b"H"
KIND_COMMAND = b"C"
KIND_AUDIO = b"A"
KIND_EVENT = b"E"
KIND_STATUS = b"S"
_OFFSET = struct.Struct(">Q")
WRITE_BUFFER_LIMIT = 2 << 20  # ~2 min of one leg: beyond this the worker is not keeping up


def leg_key(call_id: str, leg: str) -> str:
    return f"{call_id}:{leg}"


def split_key(key: str) -> tuple[str, str]:
    call_id, _, leg = key.partition(":")
    return call_id, leg


def pack_leg_audio(key: str, offset: int, pcm: bytes) -> bytes:
    raw = key.encode("ascii")
    return pack(KIND_AUDIO, bytes([len(raw)]) + raw + _OFFSET.pack(offset) + pcm)


def unpack_leg_audio(payload: bytes) -> tuple[str, int, bytes]:
    if not payload or len(payload) < 1 + payload[0] + _OFFSET.size:
        raise ValueError("leg audio frame too short")
    n = payload[0]
    key = payload[1 : 1 + n].decode("ascii")
    (offset,) = _OFFSET.unpack_from(payload, 1 + n)
    return key, offset, payload[1 + n + _OFFSET.size :]


def command(body: dict[str, Any]) -> bytes:
    return pack(KIND_COMMAND, json.dumps(body).encode())


class AsrPeer:
    """The hub's view of one connected ASR worker."""

    def __init__(self, index: int, pid: int, writer: asyncio.StreamWriter) -> None:
        self.index = index
        self.pid = pid
        self._writer = writer
        self.broken = False

    def send(self, frame: bytes) -> bool:
        """Queue a frame without waiting; False if the link is gone or hopelessly backed up."""
        if self.broken or self._writer.is_closing():
            return False
        if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            return False
        self._writer.write(frame)
        return True

    def close(self) -> None:
        self._writer.close()


class AsrListener:
    """The hub's end: accepts ASR workers and hands their events and status upwards."""

    def __init__(
        self,
        path: Path,
        on_connect: Callable[[AsrPeer], None],
        on_disconnect: Callable[[AsrPeer], None],
        on_event: Callable[[AsrPeer, Event], None],
        on_status: Callable[[AsrPeer, dict[str, Any]], None],
    ) -> None:
        self.path = path
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._on_event = on_event
        self._on_status = on_status
        self._server: asyncio.Server | None = None
        self._peers: set[AsrPeer] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for peer in list(self._peers):
                peer.close()
            await self._server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer: AsrPeer | None = None
        try:
            while True:
                kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
                if length > MAX_FRAME:
                    log.error("an ASR worker sent an oversized frame; closing its link")
                    return
                payload = await reader.readexactly(length)
                if kind == KIND_HELLO:
                    hello = json.loads(payload)
                    peer = AsrPeer(int(hello["index"]), int(hello["pid"]), writer)
                    self._peers.add(peer)
                    self._on_connect(peer)
                elif peer is None:
                    log.error("an ASR worker spoke before its hello; closing its link")
                    return
                elif kind == KIND_EVENT:
                    try:
                        self._on_event(peer, decode_event(payload))
                    except EventDecodeError:
                        log.exception("ASR worker %d sent an undecodable event", peer.index)
                elif kind == KIND_STATUS:
                    self._on_status(peer, json.loads(payload))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            if peer is not None:
                peer.broken = True
                self._peers.discard(peer)
                self._on_disconnect(peer)
