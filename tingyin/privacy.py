"""Masking for logs: never write a full phone number or a secret to a log line."""

from __future__ import annotations

import re

_SIP_USER = re.compile(r"^(?:sips?:)?([^@;>]*)")


def mask_number(number: str) -> str:
    """'13812345678' → '138****5678'; short numbers keep only their last two digits."""
    digits = number.strip()
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def number_from_uri(uri: str) -> str:
    """The user part of a SIP URI or name-addr ('"A" <sip:1381234@h>' → '1381234')."""
    inner = uri[uri.find("<") + 1 :] if "<" in uri else uri
    match = _SIP_USER.match(inner.strip())
    return match.group(1) if match else ""
