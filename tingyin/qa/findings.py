"""What an automatic check found: passed or not, a measured value, and where in the call."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """A moment in the call (seconds from the recording's start) and what was heard there."""

    leg: str
    start: float
    end: float
    text: str = ""


@dataclass(frozen=True)
class Finding:
    check: str  # one of tingyin.qa.scorecard.AUTO_CHECKS
    passed: bool
    value: float | None = None
    note: str = ""
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
