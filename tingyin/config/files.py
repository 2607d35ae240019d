"""Policy and data files an admin edits (TOML): read, checked against their model, and every
mistake reported with the file and the place in it, in one message."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Explain = Callable[[ValidationError, dict[str, Any]], str]
Where = Callable[[list[int | str], dict[str, Any]], str]


def explain_with(where: Where) -> Explain:
    """An ``Explain`` listing each mistake on its own line, placed by ``where`` (the file's own
    way of naming an entry: "category 11 (tip), field code"); the model's cross-checks, which
    have no place of their own, come one problem a line as they were worded."""

    def explain(exc: ValidationError, data: dict[str, Any]) -> str:
        lines: list[str] = []
        for err in exc.errors():
            loc = list(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if not loc:
                lines.extend(f"  {line}" for line in msg.splitlines())
                continue
            lines.append(f"  {where(loc, data)}: {msg}")
        return "\n".join(lines)

    return explain


def load_toml_model(
    path: Path, model: type[M], what: str, error: type[Exception], explain: Explain
) -> M:
    """``model`` from the TOML file at ``path``; ``error`` (what, path, and each mistake's place,
    as ``explain`` words them) when it cannot be read, is not TOML, or does not validate."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{what} {path}:\n" + explain(exc, data)) from None
