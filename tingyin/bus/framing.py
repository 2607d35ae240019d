"""Length-prefixed frames for the unix-socket links between processes (media and ASR workers).

A frame is ``kind (1 byte) | length (4 bytes, big endian) | payload``; the kinds belong to each
link. Kept here, beside the event codec, so every link speaks the same framing.
"""

from __future__ import annotations

import socket
import struct

HEADER = struct.Struct(">cI")
MAX_FRAME = 1 << 20


def pack(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return bytes(buf)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    kind, length = HEADER.unpack(recv_exact(sock, HEADER.size))
    if length > MAX_FRAME:
        raise ValueError(f"oversized frame ({length} bytes)")
    return kind, recv_exact(sock, length)
