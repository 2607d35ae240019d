"""Free-port selection for ``--sip-port 0`` and workers without a configured base port."""

from __future__ import annotations

import socket


def port_is_free(host: str, port: int) -> bool:
    """True if both UDP and TCP can bind ``host:port`` right now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset()) -> int:
    """A port free for both UDP and TCP (the kernel picks; retried if TCP is taken)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid and port_is_free(host, port):
            return port
    raise OSError(f"no free UDP+TCP port on {host}")
