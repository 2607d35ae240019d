"""The listening room's alert rules (``config/alerts.toml``): phrases heard on a leg, timers
(silence, hold, the call's length) and tickets whose SLA is about to breach.

Loaded once at start. A mistake names its place ("phrase rule 2 (anger), field words") so an
admin's typo stops the start with a message instead of a room that never lights up. Beyond each
field's own checks: rule names are unique across the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tingyin.config.files import explain_with, load_toml_model

DEFAULT_ALERT_RULES = Path(__file__).resolve().parent.parent / "config" / "alerts.toml"

Severity = Literal["info", "warning", "critical"]
_NAME = r"^[a-z][a-z0-9_]*$"


class AlertRulesError(Exception):
    pass


class _Strict(BaseModel):
    """Unknown keys are mistakes, and a loaded file never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Strict):
    name: str = Field(pattern=_NAME, max_length=32)
    zh: str = Field(min_length=1, max_length=32)
    en: str = Field(min_length=1, max_length=64)
    severity: Severity = "warning"


class PhraseRule(_Rule):
    """Any of ``words`` in a finished utterance of ``leg`` (spaces ignored: recognisers put
    gaps between Chinese words)."""

    leg: Literal["agent", "caller", "any"]
    words: tuple[str, ...] = Field(min_length=1, max_length=200)

    @field_validator("words")
    @classmethod
    def _words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple("".join(w.split()) for w in words)
        empty = [n for n, w in enumerate(cleaned, 1) if not w]
        if empty:
            raise ValueError(f"word {empty[0]} is empty")
        return cleaned


class TimerRule(_Rule):
    """silence: no words from either leg while an agent is on the call (only for calls being
    transcribed); hold: the caller on hold; long_call: since the call was answered."""

    kind: Literal["silence", "hold", "long_call"]
    seconds: int = Field(gt=0, le=24 * 3600)


class SlaRule(_Rule):
    """A ticket of a caller now on a call entered one of ``states`` (``warning``: about to
    breach; ``breached``)."""

    states: tuple[Literal["warning", "breached"], ...] = Field(min_length=1)


class AlertRules(_Strict):
    phrases: tuple[PhraseRule, ...] = ()
    timers: tuple[TimerRule, ...] = ()
    sla: tuple[SlaRule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> AlertRules:
        seen: dict[str, str] = {}
        problems: list[str] = []
        for section, rules in (("phrase", self.phrases), ("timer", self.timers), ("sla", self.sla)):
            for n, rule in enumerate(rules, 1):
                place = f"{section} rule {n} ({rule.name})"
                if rule.name in seen:
                    problems.append(f"{place}, field name: used by {seen[rule.name]}")
                else:
                    seen[rule.name] = place
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def labels(self) -> dict[str, dict[str, str]]:
        """Every rule's labels and severity, for the room page's legend."""
        rules: list[_Rule] = [*self.phrases, *self.timers, *self.sla]
        return {r.name: {"zh": r.zh, "en": r.en, "severity": r.severity} for r in rules}


def load_alert_rules(path: Path | None = None) -> AlertRules:
    """The file at ``path`` (default: the packaged one); AlertRulesError says what's wrong."""
    return load_toml_model(
        path or DEFAULT_ALERT_RULES,
        AlertRules,
        "alert rules",
        AlertRulesError,
        explain_with(_where),
    )


_SECTIONS = {"phrases": "phrase", "timers": "timer", "sla": "sla"}


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    """``phrase rule 2 (anger), field words`` (numbers from 1, as an admin counts)."""
    if len(loc) >= 2 and loc[0] in _SECTIONS and isinstance(loc[1], int):
        entries = data.get(str(loc[0]))
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        rest = loc[2:]
        field = f", field {'.'.join(str(p) for p in rest)}" if rest else ""
        return f"{_SECTIONS[str(loc[0])]} rule {loc[1] + 1} ({name or 'no name'}){field}"
    return ".".join(str(part) for part in loc)
