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
