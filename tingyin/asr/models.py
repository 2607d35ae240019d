"""Find Vosk models on disk without loading them (loading costs ~3 s and ~500 MB).

A model is a directory with Vosk's layout (``am/``, ``conf/model.conf`` or ``graph/``). They
come from three places: any directory named in the settings, ``<data_dir>/models/NAME`` (written
by ``tingyin models download``) and installed ``vosk_model_*`` packages (model in ``model/``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "tingyin-model.json"  # written by download_model; says where the model came from
PACKAGE_PREFIX = "vosk_model_"

# Catalog codes differ from BCP 47 tags for a few languages ("zh-CN" is "cn" in Vosk's list).
_LANGUAGE_ALIASES = {"zh": "cn"}
# What to suggest when nothing is installed for a language; other names: --list-available.
_SUGGESTED = {"cn": "vosk-model-small-cn-0.22", "en": "vosk-model-small-en-us-0.15"}


class ModelNotFoundError(Exception):
    """No model matches the setting; the message says what was tried and how to fix it."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    language: str | None
    source: str  # "directory", "package" or "downloaded"


def looks_like_model(path: Path) -> bool:
    return path.is_dir() and (
        (path / "am").is_dir()
        or (path / "conf" / "model.conf").is_file()
        or (path / "graph").is_dir()
    )


def language_key(tag: str) -> str:
    """The comparable part of a language tag: "zh-CN", "zh", "cn" → "cn"; "en-US" → "en"."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return _LANGUAGE_ALIASES.get(primary, primary)


def language_matches(wanted: str, model_language: str | None) -> bool:
    return model_language is not None and language_key(wanted) == language_key(model_language)


def guess_language(name: str) -> str | None:
    """ "vosk-model-small-cn-0.22" → "cn", "vosk-model-en-us-0.22-lgraph" → "en-us"."""
    tokens = name.lower().replace("_", "-").split("-")
    if tokens[:2] != ["vosk", "model"]:
        return None  # a name of the operator's choosing says nothing reliable
    tokens = tokens[3:] if tokens[2:3] == ["small"] else tokens[2:]
    if not tokens or not tokens[0].isalpha() or len(tokens[0]) > 3:
        return None
    # A second two-letter token is a region ("en-us", "en-in"); "cn-kaldi" is not.
    if len(tokens) > 1 and len(tokens[1]) == 2 and tokens[1].isalpha():
        return f"{tokens[0]}-{tokens[1]}"
    return tokens[0]


def read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no marker, or a damaged one: fall back to guessing from the name
    return data if isinstance(data, dict) else None


def describe_model(path: Path, source: str | None = None, name: str | None = None) -> ModelInfo:
    """Describe a model directory; ``source`` defaults to what its marker says."""
    marker = read_marker(path)
    name = name or str((marker or {}).get("name") or path.name)
    lang = (marker or {}).get("lang")
    language = lang if isinstance(lang, str) and lang else guess_language(name)
    source = source or ("downloaded" if marker else "directory")
    return ModelInfo(name=name, path=path.resolve(), language=language, source=source)


def package_model(package: str) -> ModelInfo | None:
    """The model inside an installed package, found without importing the package."""
    if not package.isidentifier():  # dotted names would import their parents
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if looks_like_model(Path(location) / "model"):
            return describe_model(Path(location) / "model", "package", name=package)
    return None


def installed_models(models_dir: Path) -> list[ModelInfo]:
    """Models under ``models_dir`` (by name), then ``vosk_model_*`` packages (by name)."""
    found: list[ModelInfo] = []
    if models_dir.is_dir():
        for child in sorted(models_dir.iterdir()):
            # Dot names are download_model's temporary files and directories.
            if not child.name.startswith(".") and looks_like_model(child):
                found.append(describe_model(child))
    packages = importlib.metadata.packages_distributions()
    for package in sorted(p for p in packages if p.startswith(PACKAGE_PREFIX)):
        info = package_model(package)
        if info is not None:
            found.append(info)
    return found


def resolve_model(setting: str | None, models_dir: Path, language: str) -> ModelInfo:
    """The model that ``asr.model`` (or, unset, ``asr.language``) selects."""
    if setting is None or not setting.strip():
        return _default_model(models_dir, language)
    tried: list[str] = []
    if "/" not in setting and "\\" not in setting and setting not in {".", ".."}:
        candidate = models_dir / setting
        tried.append(str(candidate))
        if looks_like_model(candidate):
            return describe_model(candidate)
        package = setting.replace("-", "_")
        if package.isidentifier():
            tried.append(f"package {package}")
            info = package_model(package)
            if info is not None:
                return info
    path = Path(setting).expanduser()
    if str(path) not in tried:
        tried.append(str(path))
    if looks_like_model(path):
        return describe_model(path)
    raise ModelNotFoundError(
        f"speech model {setting!r} not found (tried {', '.join(tried)}); set asr.model to a "
        f"Vosk model directory or run `tingyin models download NAME`"
    )


def _default_model(models_dir: Path, language: str) -> ModelInfo:
    matches = [m for m in installed_models(models_dir) if language_matches(language, m.language)]
    # "en-US" prefers an en-us model over en-in when both are there.
    exact = [m for m in matches if (m.language or "").lower() == language.lower()]
    if exact or matches:
        return (exact or matches)[0]
    key = language_key(language)
    name = _SUGGESTED.get(key, f"vosk-model-small-{key}-VERSION")
    raise ModelNotFoundError(
        f"no speech model for language {language!r} in {models_dir} or in installed "
        f"{PACKAGE_PREFIX}* packages; run `tingyin models download {name}` "
        f"(names: `tingyin models download --list-available`) or set asr.model"
    )
