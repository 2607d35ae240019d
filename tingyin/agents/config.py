"""The agents and queues file (``config/queues.toml``): not-ready reasons, wrap-up and ring
times, and the queues callers wait in.

Loaded once at start. A mistake is reported with its place (the queue or reason by number and
name, and the field) so an admin's typo stops the start with a message instead of calls routed
to nobody. Beyond each field's own checks: names and codes are unique, a ``customer`` queue
exists (the IVR hands callers to it), and the system's own reason ``missed`` is not listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tingyin.config.files import explain_with, load_toml_model

DEFAULT_QUEUE_CONFIG = Path(__file__).resolve().parent.parent / "config" / "queues.toml"

Line = Literal["customer", "rider", "merchant"]
# The not-ready reason the system sets when offers go unanswered (max_missed_offers).
MISSED = "missed"
HANDOVER_QUEUE = "customer"  # the queue the IVR hands callers to

_CODE = r"^[a-z][a-z0-9_]*$"


class QueueConfigError(Exception):
    pass


class _Strict(BaseModel):
    """Unknown keys are mistakes, and a loaded file never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Strict):
    code: str = Field(pattern=_CODE, max_length=32)
    zh: str = Field(min_length=1, max_length=32)
    en: str = Field(min_length=1, max_length=64)

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh


class AgentRules(_Strict):
    not_ready_reasons: tuple[Reason, ...] = Field(min_length=1)
    wrap_up_seconds: int = Field(default=30, ge=0, le=3600)
    max_missed_offers: int = Field(default=2, ge=1, le=20)
    ring_seconds: int = Field(default=15, ge=5, le=120)


class Queue(_Strict):
    name: str = Field(pattern=_CODE, max_length=32)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    line: Line
    language: str = Field(default="zh", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    min_level: int = Field(default=1, ge=1, le=5)
    priority_vip: int = Field(default=10, ge=0, le=1000)
    priority_urgent_ticket: int = Field(default=20, ge=0, le=1000)
    announce_every_seconds: int = Field(default=30, ge=0, le=3600)  # 0: no announcements
    max_wait_seconds: int = Field(default=300, gt=0, le=24 * 3600)
    offer_callback: bool = True  # after max_wait_seconds (needs the [outbound] route)
    service_level_seconds: int = Field(default=20, gt=0, le=3600)

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh

    @model_validator(mode="after")
    def _times(self) -> Queue:
        if self.service_level_seconds > self.max_wait_seconds:
            raise ValueError(
                f"service_level_seconds ({self.service_level_seconds}) is longer than "
                f"max_wait_seconds ({self.max_wait_seconds})"
            )
        return self


class QueueConfig(_Strict):
    agents: AgentRules
    queues: tuple[Queue, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _agree(self) -> QueueConfig:
        problems = _cross_check(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def queue(self, name: str) -> Queue:
        for queue in self.queues:
            if queue.name == name:
                return queue
        known = ", ".join(q.name for q in self.queues)
        raise ValueError(f"unknown queue {name!r} (known: {known})")

    def reason(self, code: str) -> Reason | None:
        """The configured not-ready reason with this code (``missed`` is not one of them)."""
        return next((r for r in self.agents.not_ready_reasons if r.code == code), None)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.agents.not_ready_reasons)


def _cross_check(config: QueueConfig) -> list[str]:
    problems: list[str] = []
    names = [q.name for q in config.queues]
    for n, queue in enumerate(config.queues, 1):
        if queue.name in names[: n - 1]:
            first = names.index(queue.name) + 1
            problems.append(f"queue {n} ({queue.name}), field name: used by queue {first}")
    if HANDOVER_QUEUE not in names:
        problems.append(
            f"queues: no {HANDOVER_QUEUE!r} queue (the IVR hands callers to it); "
            f"found: {', '.join(names)}"
        )
    codes = [r.code for r in config.agents.not_ready_reasons]
    for n, code in enumerate(codes, 1):
        where = f"agents.not_ready_reasons: reason {n} ({code}), field code"
        if code == MISSED:
            problems.append(f"{where}: {MISSED!r} is the system's own reason (offers missed)")
        elif code in codes[: n - 1]:
            problems.append(f"{where}: used by reason {codes.index(code) + 1}")
    return problems


def load_queue_config(path: Path | None = None) -> QueueConfig:
    """The file at ``path`` (default: the packaged one); QueueConfigError says what's wrong."""
    return load_toml_model(
        path or DEFAULT_QUEUE_CONFIG,
        QueueConfig,
        "queue config",
        QueueConfigError,
        explain_with(_where),
    )


def _entry(entries: Any, index: int, key: str) -> str:
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    value = entry.get(key) if isinstance(entry, dict) else None
    return str(value) if value else f"no {key}"


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    """``queue 2 (rider), field min_level`` or ``agents.not_ready_reasons: reason 1 (break), …``."""
    if len(loc) >= 2 and loc[0] == "queues" and isinstance(loc[1], int):
        name = _entry(data.get("queues"), loc[1], "name")
        return f"queue {loc[1] + 1} ({name}){_field(loc[2:])}"
    agents = data.get("agents")
    if loc[:2] == ["agents", "not_ready_reasons"] and len(loc) >= 3 and isinstance(loc[2], int):
        reasons = agents.get("not_ready_reasons") if isinstance(agents, dict) else None
        code = _entry(reasons, loc[2], "code")
        return f"agents.not_ready_reasons: reason {loc[2] + 1} ({code}){_field(loc[3:])}"
    return ".".join(str(part) for part in loc)


def _field(rest: list[int | str]) -> str:
    return f", field {'.'.join(str(part) for part in rest)}" if rest else ""
