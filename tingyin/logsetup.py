"""Process logging: one format on stderr, and secrets scrubbed from every record.

Uvicorn logs each websocket's path with its query string, and browsers pass the login token as
``?token=`` there (they cannot set headers on a websocket). The filter below sits on the root
handlers, so any logger that propagates (uvicorn's included) has tokens and passwords removed
before a line is written.
"""

from __future__ import annotations

import logging
import re
import sys

_SECRET = re.compile(
    r"(?P<key>(?:access_)?token=|password=|secret=|Bearer\s+)(?P<value>[^&\s\"']+)", re.IGNORECASE
)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group("key") + "***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str | int, prefix: str) -> None:
    """Log to stderr (stdout is kept for machine-readable lines such as ``ready ...``)."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"%(asctime)s {prefix} %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())
    # httpx logs every request URL at INFO: an order API's URLs carry callers' phone numbers.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
