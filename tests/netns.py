"""A network namespace of the test's own, with only ``lo``: where WebRTC can only use loopback.

Chromium offers its machine's non-loopback addresses to WebRTC, and aioice skips loopback
(BROWSER_AUDIO_NOTES): in the machine's own namespace a browser call would send packets to
the machine's LAN address. Inside a namespace that has nothing but ``lo`` no other address
exists. ``entered(name)`` moves the calling thread there (``setns``), so the processes it
starts (the hub, SIP clients) live there too; Chromium, started by Playwright's driver, goes
in through ``chromium_wrapper`` (``nsenter``). Needs root, as CI and these machines have.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000


def available() -> bool:
    return os.geteuid() == 0 and Path("/usr/bin/nsenter").exists()


@contextlib.contextmanager
def loopback_namespace(name: str) -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """The calling thread (and what it starts) in namespace ``name`` until the block ends."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def chromium_wrapper(name: str, chromium: Path, directory: Path) -> Path:
    """An executable that starts ``chromium`` inside namespace ``name`` (same arguments, same
    inherited pipes, so Playwright drives it as usual)."""
    path = directory / "chromium-in-netns"
    path.write_text(f'#!/bin/sh\nexec nsenter --net=/run/netns/{name} {chromium} "$@"\n')
    path.chmod(0o755)
    return path
