"""The screen-pop policy file (``config/screenpop_policy.toml``): thresholds, words, rules.

Loaded once at start; a mistake is reported with the rule (by its id) and the field it is in, so
an admin's typo stops the start with a message instead of a wrong suggestion at 12:30 on a
Friday.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tingyin.config.files import load_toml_model

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "config" / "screenpop_policy.toml"

ANOMALY_KINDS = (
    "late",
    "not_accepted",
    "merchant_slow",
    "pickup_slow",
    "rider_not_moving",
    "cancelled_by_rider",
    "cancelled_by_merchant",
    "refund_pending",
)
FLAGS = ("vip", "frequent_complainer", "new_customer")
STATUSES = ("placed", "accepted", "ready", "picked_up", "delivered", "cancelled", "refunded")


class PolicyError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    accept_minutes: float = Field(default=10, gt=0)
    prepare_minutes: float = Field(default=25, gt=0)
    pickup_minutes: float = Field(default=15, gt=0)
    rider_still_minutes: float = Field(default=10, gt=0)
    rider_still_meters: float = Field(default=50, gt=0)
    late_grace_minutes: float = Field(default=0, ge=0)
    recent_delivery_hours: float = Field(default=3, gt=0)
    history_days: int = Field(default=30, gt=0)
    max_orders: int = Field(default=5, ge=1, le=50)
    repeat_call_hours: float = Field(default=24, gt=0)
    frequent_complainer: int = Field(default=3, ge=1)
    new_customer_days: int = Field(default=14, ge=0)


class Words(_Strict):
    flag: tuple[str, ...] = ()
    food_safety: tuple[str, ...] = ()


class Rule(_Strict):
    id: str = Field(min_length=1)
    # conditions
    caller: Literal["customer", "rider", "merchant"] | None = None
    anomaly: Literal[ANOMALY_KINDS] | None = None  # type: ignore[valid-type]
    min_minutes: float | None = Field(default=None, ge=0)
    status: tuple[Literal[STATUSES], ...] | None = None  # type: ignore[valid-type]
    food_safety: bool | None = None
    delivered_within_hours: float | None = Field(default=None, gt=0)
    flag: Literal[FLAGS] | None = None  # type: ignore[valid-type]
    # outcome
    reason: str = Field(min_length=1)
    reason_label: str = Field(min_length=1)
    remedy: str = Field(min_length=1)
    remedy_label: str = Field(min_length=1)
    priority: Literal["normal", "high", "urgent"] = "normal"
    amount_yuan: float = Field(default=0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _minutes_need_anomaly(self) -> Rule:
        if self.min_minutes is not None and self.anomaly is None:
            raise ValueError("min_minutes needs an anomaly to measure")
        return self


class Policy(_Strict):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    words: Words = Field(default_factory=Words)
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


def load_policy(path: Path | None = None) -> Policy:
    """The policy from ``path`` (default: the packaged one); PolicyError says what is wrong."""
    return load_toml_model(
        path or DEFAULT_POLICY, Policy, "screen-pop policy", PolicyError, _explain
    )


def _explain(exc: ValidationError, data: object) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(part) for part in loc) or "(top)"
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = data.get("rules") if isinstance(data, dict) else None
            rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
            name = rule.get("id") if isinstance(rule, dict) else None
            field = ".".join(str(part) for part in loc[2:]) or "(rule)"
            where = f"rule {loc[1] + 1} ({name or 'no id'}), field {field}"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
