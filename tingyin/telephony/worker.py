"""Entry point of a media worker process: ``python -m tingyin.telephony.worker ...``.

Started by the hub's supervisor, one per SIP port. It connects to the hub's unix socket,
announces itself with WorkerReady once its SIP transports accept work, and exits when told to,
when the hub goes away, or on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from tingyin.bus.events import WorkerReady
from tingyin.logsetup import configure_logging
from tingyin.telephony.endpoint import MediaWorker, WorkerConfig
from tingyin.telephony.ipc import WorkerLink

log = logging.getLogger("tingyin.worker")


def parse_args(argv: list[str] | None = None) -> tuple[WorkerConfig, Path, str]:
    parser = argparse.ArgumentParser(prog="tingyin-worker")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--sip-host", required=True)
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--rtp-port-count", type=int, default=40)
    parser.add_argument("--transports", default="udp,tcp")
    parser.add_argument("--codecs", default="PCMU,PCMA")
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--greeting", type=Path, default=None)
    parser.add_argument("--max-call-seconds", type=int, default=3600)
    parser.add_argument("--answer-delay-ms", type=int, default=0)
    parser.add_argument("--hub-socket", type=Path, required=True)
    parser.add_argument("--stream-all", action="store_true", help="stream every call's audio")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    config = WorkerConfig(
        index=args.index,
        sip_host=args.sip_host,
        sip_port=args.sip_port,
        rtp_port=args.rtp_port,
        rtp_port_count=args.rtp_port_count,
        recordings_dir=args.recordings,
        greeting_wav=args.greeting,
        codecs=tuple(c for c in args.codecs.split(",") if c),
        transports=tuple(t for t in args.transports.split(",") if t),
        max_call_seconds=args.max_call_seconds,
        answer_delay_ms=args.answer_delay_ms,
        stream_all=args.stream_all,
    )
    return config, args.hub_socket, args.log_level


def main(argv: list[str] | None = None) -> int:
    config, hub_socket, level = parse_args(argv)
    configure_logging(level, f"worker-{config.index}")
    worker: MediaWorker | None = None

    def on_command(command: dict[str, Any]) -> None:
        if worker is not None:
            worker.submit(command)

    link = WorkerLink(hub_socket, config.index, on_command=on_command)
    link.start()
    worker = MediaWorker(config, link.send_event, link.send_audio, link.send_leg_audio)
    link.on_pcm = worker.browser.push_mic

    def _terminate(_signum: int, _frame: FrameType | None) -> None:
        assert worker is not None
        worker.stop()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        worker.start()
    except Exception:
        log.exception("could not start the SIP endpoint on %s:%d", config.sip_host, config.sip_port)
        link.close()
        return 3
    link.send_event(
        WorkerReady(
            worker=config.index, sip_host=config.sip_host, sip_port=config.sip_port, pid=os.getpid()
        )
    )
    log.info("ready on %s:%d", config.sip_host, config.sip_port)
    try:
        worker.run()
    finally:
        worker.shutdown()
        link.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
