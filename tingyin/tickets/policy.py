"""The ticket policy file (``config/tickets.toml``): categories, priorities, SLA, compensation.

Loaded once at start. A mistake is reported with its place (the category by number and code,
the section and field) so an admin's typo stops the start with a message instead of a wrong SLA
or an unapproved refund later. Beyond each field's own checks, the entries must agree with one
another: SLA entries and responsibility lists name known categories, categories name known
parties and offered compensation kinds, tiers ascend, codes are unique.

Plain models only: the rules that read them are in ``tickets.rules`` (and the SLA clock in
``tickets.sla``).
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tingyin.config.files import explain_with, load_toml_model
from tingyin.tickets.followup_policy import FollowUpPolicy
from tingyin.tickets.hours import WEEKDAYS, Calendar, Strict, Weekday, parse_hours

__all__ = ["WEEKDAYS", "Calendar", "FollowUpPolicy", "Weekday", "parse_hours"]

DEFAULT_TICKET_POLICY = Path(__file__).resolve().parent.parent / "config" / "tickets.toml"

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)  # lowest first
ApprovalLevel = Literal["none", "supervisor", "admin"]
APPROVAL_LEVELS: tuple[ApprovalLevel, ...] = get_args(ApprovalLevel)  # least first
# The kinds Tingyin knows how to carry out; the file chooses which of them are offered.
CompensationKind = Literal["coupon", "partial_refund", "full_refund", "resend"]
COMPENSATION_KINDS: tuple[CompensationKind, ...] = get_args(CompensationKind)
# Parties the timeline rules (tickets.rules.responsibility_for) name: the file must keep them.
RULE_PARTIES = ("merchant_kitchen", "delivery")

_CODE = r"^[a-z][a-z0-9_]*$"


class TicketPolicyError(Exception):
    pass


def _whole_fen(value: float) -> float:
    if abs(value * 100 - round(value * 100)) > 1e-6:
        raise ValueError(f"{value} 元 has more than two decimals")
    return value


def _fen(yuan: float) -> int:
    return round(yuan * 100)


class Category(Strict):
    code: str = Field(pattern=_CODE, max_length=40)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    default_priority: Priority = "normal"
    default_party: str = Field(min_length=1)
    allows: tuple[str, ...] = ()

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh


def squash(text: str) -> str:
    """Text as keywords are matched: no whitespace (ASR puts spaces between words), casefolded."""
    return "".join(text.split()).casefold()


class PriorityRules(Strict):
    vip_raise: int = Field(default=1, ge=0, le=3)
    frequent_complainer_raise: int = Field(default=0, ge=0, le=3)
    keywords: dict[Priority, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keywords_once(self) -> PriorityRules:
        seen: dict[str, str] = {}
        for level, words in self.keywords.items():
            for word in words:
                key = squash(word)
                if not key:
                    raise ValueError(f"keywords.{level}: an empty keyword")
                if key in seen:
                    raise ValueError(
                        f"keywords: {word!r} is listed under {seen[key]} and {level}"
                        if seen[key] != level
                        else f"keywords.{level}: {word!r} is listed twice"
                    )
                seen[key] = level
        return self


def _no_update_clock(value: Any) -> Any:
    if value is True:
        raise ValueError("update_min is a number of minutes, or false for no update clock")
    return value


class SlaTarget(Strict):
    """Targets in business minutes (see ``Calendar``); ``update_min`` None: no update clock."""

    first_response_min: int = Field(gt=0)
    update_min: int | None = Field(default=None, gt=0)
    resolution_min: int = Field(gt=0)
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)

    @field_validator("update_min", mode="before")
    @classmethod
    def _false_is_none(cls, value: Any) -> Any:
        return None if value is False else _no_update_clock(value)

    @model_validator(mode="after")
    def _order(self) -> SlaTarget:
        for name in ("first_response_min", "update_min"):
            value = getattr(self, name)
            if value is not None and value > self.resolution_min:
                raise ValueError(
                    f"{name} ({value}) is after resolution_min ({self.resolution_min})"
                )
        return self


class SlaOverride(Strict):
    """Some fields of a target, for one category and priority; the rest come from the default.

    ``update_min = false`` turns the update clock off for this category and priority.
    """

    first_response_min: int | None = Field(default=None, gt=0)
    update_min: int | Literal[False] | None = Field(default=None)
    resolution_min: int | None = Field(default=None, gt=0)
    warn_ratio: float | None = Field(default=None, gt=0, lt=1)

    @field_validator("update_min", mode="before")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        _no_update_clock(value)
        if value is not False and isinstance(value, int | float) and value <= 0:
            raise ValueError("update_min must be greater than 0 (or false: no update clock)")
        return value

    def over(self, base: SlaTarget) -> SlaTarget:
        return SlaTarget.model_validate(base.model_dump() | self.model_dump(exclude_none=True))


class Sla(Strict):
    """``[sla.default.<priority>]`` plus ``[sla.<category>.<priority>]`` overrides.

    The overrides are kept under ``categories`` (the file writes them directly under ``sla``).
    """

    default: dict[Priority, SlaTarget]
    categories: dict[str, dict[Priority, SlaOverride]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        if isinstance(data, dict) and "categories" not in data:
            out: dict[str, Any] = {"categories": {k: v for k, v in data.items() if k != "default"}}
            if "default" in data:
                out["default"] = data["default"]
            return out
        return data

    @model_validator(mode="after")
    def _every_priority(self) -> Sla:
        missing = [p for p in PRIORITIES if p not in self.default]
        if missing:
            raise ValueError(f"sla.default: no target for priority {', '.join(missing)}")
        return self


class CompensationKindSpec(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    min_approval: ApprovalLevel = "none"

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh


class Tier(Strict):
    up_to_yuan: float = Field(gt=0, le=1_000_000)
    approval: ApprovalLevel

    @field_validator("up_to_yuan")
    @classmethod
    def _whole(cls, value: float) -> float:
        return _whole_fen(value)

    @property
    def up_to_fen(self) -> int:
        return _fen(self.up_to_yuan)


class Compensation(Strict):
    window_days: int = Field(default=30, ge=1, le=366)
    customer_limit_yuan: float = Field(gt=0, le=1_000_000)
    over_limit_approval: Literal["supervisor", "admin"] = "supervisor"
    kinds: dict[CompensationKind, CompensationKindSpec] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @field_validator("customer_limit_yuan")
    @classmethod
    def _whole(cls, value: float) -> float:
        return _whole_fen(value)

    @property
    def customer_limit_fen(self) -> int:
        return _fen(self.customer_limit_yuan)

    @model_validator(mode="after")
    def _tiers_ascend(self) -> Compensation:
        for n, (lower, upper) in enumerate(pairwise(self.tiers), 2):
            if upper.up_to_yuan <= lower.up_to_yuan:
                raise ValueError(
                    f"compensation.tiers: tier {n} (up to {upper.up_to_yuan:g} 元) must be above "
                    f"tier {n - 1} (up to {lower.up_to_yuan:g} 元): tiers go in ascending order"
                )
            if APPROVAL_LEVELS.index(upper.approval) < APPROVAL_LEVELS.index(lower.approval):
                raise ValueError(
                    f"compensation.tiers: tier {n} needs approval {upper.approval!r}, less than "
                    f"tier {n - 1} ({lower.approval!r}) for a smaller amount"
                )
        return self


class Repeat(Strict):
    window_hours: float = Field(default=72, gt=0, le=24 * 90)


class Responsibility(Strict):
    by_cancellation: tuple[str, ...] = ("late", "other")
    by_delays: tuple[str, ...] = ("late",)
    accept_minutes: float = Field(default=10, gt=0)
    prepare_minutes: float = Field(default=25, gt=0)
    pickup_minutes: float = Field(default=15, gt=0)


class PartySpec(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    queue: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=60)
    webhook_url: str = ""
    webhook_secret_env: str = Field(default="", pattern=r"^([A-Z_][A-Z0-9_]*)?$")

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh

    @model_validator(mode="after")
    def _webhook(self) -> PartySpec:
        if not self.webhook_url:
            return self
        url = urlsplit(self.webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"webhook_url {self.webhook_url!r} is not an http(s) URL")
        if url.username or url.password:
            raise ValueError("webhook_url must not hold credentials: use webhook_secret_env")
        if not self.webhook_secret_env:
            raise ValueError("webhook_url is set but webhook_secret_env is empty")
        return self


class TicketPolicy(Strict):
    categories: tuple[Category, ...] = Field(min_length=1)
    priority: PriorityRules = Field(default_factory=PriorityRules)
    sla: Sla
    calendar: Calendar
    compensation: Compensation
    repeat: Repeat = Field(default_factory=Repeat)
    responsibility: Responsibility = Field(default_factory=Responsibility)
    parties: dict[str, PartySpec] = Field(min_length=1)
    followup: FollowUpPolicy = Field(default_factory=FollowUpPolicy)

    @model_validator(mode="after")
    def _agree(self) -> TicketPolicy:
        problems = _cross_check(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def category(self, code: str) -> Category:
        for category in self.categories:
            if category.code == code:
                return category
        raise ValueError(f"unknown ticket category {code!r} (known: {self._codes()})")

    def sla_for(self, category: str, priority: Priority) -> SlaTarget:
        """The targets for a ticket of this category and priority (override over default)."""
        self.category(category)
        base = self.sla.default[priority]
        override = self.sla.categories.get(category, {}).get(priority)
        return override.over(base) if override else base

    def _codes(self) -> str:
        return ", ".join(c.code for c in self.categories)


def _cross_check(policy: TicketPolicy) -> list[str]:
    problems: list[str] = []
    codes = [c.code for c in policy.categories]
    parties = ", ".join(policy.parties)
    kinds = ", ".join(policy.compensation.kinds)
    for n, category in enumerate(policy.categories, 1):
        where = f"category {n} ({category.code})"
        if category.code in codes[: n - 1]:
            first = codes.index(category.code) + 1
            problems.append(f"{where}, field code: {category.code!r} is used by category {first}")
        if category.default_party not in policy.parties:
            problems.append(
                f"{where}, field default_party: unknown party {category.default_party!r} "
                f"(known: {parties})"
            )
        for kind in category.allows:
            if kind not in policy.compensation.kinds:
                problems.append(
                    f"{where}, field allows: unknown compensation kind {kind!r} (offered: {kinds})"
                )
    known = f"(known: {', '.join(codes)})"
    for code, by_priority in policy.sla.categories.items():
        if code not in codes:
            problems.append(f"sla.{code}: unknown category {code!r} {known}")
            continue
        for priority, override in by_priority.items():
            try:
                override.over(policy.sla.default[priority])
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
                problems.append(f"sla.{code}.{priority}: {msg}")
    for field in ("by_cancellation", "by_delays"):
        for code in getattr(policy.responsibility, field):
            if code not in codes:
                problems.append(f"responsibility.{field}: unknown category {code!r} {known}")
    for name in policy.parties:
        if not re.match(_CODE, name):
            problems.append(f"parties.{name}: a party's name is lower_case letters, digits, _")
    for name in RULE_PARTIES:
        if name not in policy.parties:
            problems.append(f"parties: {name!r} is missing (the responsibility rules name it)")
    return problems


def load_ticket_policy(path: Path | None = None) -> TicketPolicy:
    """The policy from ``path`` (default: the packaged one); TicketPolicyError says what's wrong."""
    return load_toml_model(
        path or DEFAULT_TICKET_POLICY,
        TicketPolicy,
        "ticket policy",
        TicketPolicyError,
        explain_with(_where),
    )


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    key = loc[-1] == "[key]"
    if key:
        loc = loc[:-1]
    if loc[:2] == ["sla", "categories"]:
        loc = ["sla", *loc[2:]]
    if len(loc) >= 2 and loc[0] == "categories" and isinstance(loc[1], int):
        entries = data.get("categories")
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        code = entry.get("code") if isinstance(entry, dict) else None
        field = ".".join(str(part) for part in loc[2:]) or "(entry)"
        return f"category {loc[1] + 1} ({code or 'no code'}), field {field}"
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[entry {part + 1}]")
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts) + (" (as a key)" if key else "")
