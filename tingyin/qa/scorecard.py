"""The QA scorecard (``config/scorecard.toml``): sections, weighted items, critical items and the
required resolution item (解决力), loaded once and checked with every mistake named by place.

A scorecard is identified by its ``version`` and the SHA-256 of the file's bytes: evaluations
keep both (``qa_scorecard_versions``), so an edit to the file never changes an old score.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tingyin.config.files import explain_with, load_toml_model

DEFAULT_SCORECARD = Path(__file__).resolve().parent.parent / "config" / "scorecard.toml"

AnswerKind = Literal["yes_no", "scale", "level"]
# The automatic checks an item may be pre-filled from (tingyin.qa.auto_transcript/auto_audio).
AUTO_CHECKS = (
    "greeting",
    "order_asked",
    "order_confirmed",
    "empathy",
    "no_forbidden",
    "promised_time",
    "closing",
    "satisfaction_question",
    "dead_air",
    "talk_over",
    "agent_talk_ratio",
    "speaking_rate",
)
_ID = r"^[a-z][a-z0-9_]*$"


class ScorecardError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    code: str = Field(pattern=_ID, max_length=16)
    label: str = Field(min_length=1, max_length=16)
    en: str = Field(default="", max_length=32)
    share: float = Field(ge=0, le=1)  # of the item's weight


class Item(_Strict):
    id: str = Field(pattern=_ID, max_length=40)
    text: str = Field(min_length=1, max_length=200)
    en: str = Field(default="", max_length=200)
    answer: AnswerKind
    weight: float = Field(gt=0, le=100)
    scale_max: int | None = Field(default=None, ge=2, le=10)
    levels: tuple[Level, ...] = ()
    critical: bool = False  # answered "no": the whole call fails
    resolution: bool = False  # the 解决力 item
    na_allowed: bool = False
    auto: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Item:
        problems: list[str] = []
        if self.answer == "scale" and self.scale_max is None:
            problems.append("answer 'scale' needs scale_max")
        if self.answer != "scale" and self.scale_max is not None:
            problems.append(f"scale_max is only for answer 'scale' (this is {self.answer!r})")
        if self.answer == "level" and len(self.levels) < 2:
            problems.append("answer 'level' needs at least 2 levels")
        if self.answer != "level" and self.levels:
            problems.append(f"levels are only for answer 'level' (this is {self.answer!r})")
        if self.critical and self.answer != "yes_no":
            problems.append("a critical item must be answered yes_no")
        if self.resolution and self.answer != "level":
            problems.append("the resolution item must have answer = 'level'")
        if self.resolution and (self.na_allowed or self.critical):
            problems.append("the resolution item is required: no na_allowed, not critical")
        if self.auto is not None and self.auto not in AUTO_CHECKS:
            problems.append(f"unknown auto check {self.auto!r} (known: {', '.join(AUTO_CHECKS)})")
        codes = [level.code for level in self.levels]
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append(f"level code {code!r} used twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def label(self, language: str = "zh") -> str:
        return self.en if language == "en" and self.en else self.text

    def level(self, code: str) -> Level | None:
        return next((level for level in self.levels if level.code == code), None)


class Section(_Strict):
    id: str = Field(pattern=_ID, max_length=40)
    title: str = Field(min_length=1, max_length=40)
    en: str = Field(default="", max_length=80)
    # Not min_length: pydantic would also call a list whose items have mistakes "empty".
    items: tuple[Item, ...]

    @model_validator(mode="after")
    def _not_empty(self) -> Section:
        if not self.items:
            raise ValueError("a section needs at least one item")
        return self


class Scorecard(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)
    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=80)
    en: str = Field(default="", max_length=120)
    pass_score: float = Field(default=80, ge=0, le=100)
    sections: tuple[Section, ...]
    # Set by load_scorecard from the file's bytes; not part of the file.
    content_hash: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _agree(self) -> Scorecard:
        problems: list[str] = [] if self.sections else ["scorecard: no sections"]
        seen: dict[str, str] = {}
        for section in self.sections:
            if section.id in seen.values():
                problems.append(f"section {section.id}: id used twice")
            for item in section.items:
                if item.id in seen:
                    problems.append(
                        f"section {section.id}, item {item.id}: id already used in section "
                        f"{seen[item.id]}"
                    )
                seen[item.id] = section.id
        resolution = [item.id for item in self.items() if item.resolution]
        if len(resolution) != 1:
            found = ", ".join(resolution) or "none"
            problems.append(
                f"scorecard: exactly one item must be the resolution item (解决力, "
                f"resolution = true); found: {found}"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item(self, item_id: str) -> Item | None:
        return next((item for item in self.items() if item.id == item_id), None)

    @property
    def resolution_item(self) -> Item:
        return next(item for item in self.items() if item.resolution)

    def definition(self) -> dict[str, Any]:
        """The scorecard as JSON-ready data (stored with each version)."""
        return self.model_dump(mode="json")


def scorecard_from_definition(definition: dict[str, Any], digest: str) -> Scorecard:
    """A stored version back as a model (to re-score with the card a score was made with)."""
    try:
        card = Scorecard.model_validate(definition)
    except ValidationError as exc:
        raise ScorecardError(
            "stored scorecard:\n" + explain_with(_where)(exc, definition)
        ) from None
    return card.model_copy(update={"content_hash": digest})


def load_scorecard(path: Path | None = None) -> Scorecard:
    """The file at ``path`` (default: the packaged one); ScorecardError says what's wrong."""
    path = path or DEFAULT_SCORECARD
    card = load_toml_model(path, Scorecard, "scorecard", ScorecardError, explain_with(_where))
    return card.model_copy(update={"content_hash": hashlib.sha256(path.read_bytes()).hexdigest()})


def _name(entries: Any, index: int) -> str:
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    value = entry.get("id") if isinstance(entry, dict) else None
    return str(value) if value else f"#{index + 1}"


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    """``section opening, item greeting, field weight`` — the place as an admin reads it."""
    if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int):
        sections = data.get("sections")
        place = f"section {_name(sections, loc[1])}"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "items" and isinstance(rest[1], int):
            section = sections[loc[1]] if isinstance(sections, list) else None
            items = section.get("items") if isinstance(section, dict) else None
            place += f", item {_name(items, rest[1])}"
            rest = rest[2:]
        if len(rest) >= 2 and rest[0] == "levels" and isinstance(rest[1], int):
            place += f", level {rest[1] + 1}"
            rest = rest[2:]
        return place + (f", field {'.'.join(str(p) for p in rest)}" if rest else "")
    return "field " + ".".join(str(part) for part in loc)
