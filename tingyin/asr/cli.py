"""``tingyin models``: list installed speech models, download official ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tingyin.asr.download import CatalogEntry, DownloadError, download_model, fetch_catalog
from tingyin.asr.models import (
    ModelInfo,
    ModelNotFoundError,
    installed_models,
    looks_like_model,
    resolve_model,
)
from tingyin.config import Settings

models_app = typer.Typer(help="Speech models: list and download.", no_args_is_help=True)

# Same options as tingyin.cli's; defined here because tingyin.cli imports this module.
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory")]


def _load(config: Path | None, data_dir: Path | None) -> Settings:
    from tingyin.cli import _settings  # at call time: tingyin.cli imports this module

    return _settings(config, data_dir=data_dir)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]).rstrip())


@models_app.command("list")
def list_models(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List installed models; '*' marks the one the settings select."""
    settings = _load(config, data_dir)
    models = installed_models(settings.models_dir)
    chosen: ModelInfo | None = None
    problem = ""
    try:
        chosen = resolve_model(settings.asr.model, settings.models_dir, settings.asr.language)
    except ModelNotFoundError as exc:
        problem = str(exc)
    if chosen is not None and all(m.path != chosen.path for m in models):
        models.insert(0, chosen)  # asr.model names a directory outside models_dir
    if not models:
        typer.echo(f"no speech models in {settings.models_dir} or installed packages")
    else:
        rows = [[" ", "NAME", "LANGUAGE", "SOURCE", "PATH"]]
        for m in models:
            mark = "*" if chosen is not None and m.path == chosen.path else " "
            rows.append([mark, m.name, m.language or "?", m.source, str(m.path)])
        _table(rows)
    if problem:
        typer.echo(f"warning: {problem}", err=True)


@models_app.command("download")
def download(
    name: Annotated[str | None, typer.Argument(help="Model name from the catalog")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download even if installed")] = False,
    list_available: Annotated[
        bool, typer.Option("--list-available", help="List the catalog's current models")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Download a model from the official catalog (asr.catalog_url) into data_dir/models."""
    settings = _load(config, data_dir)
    models_dir = settings.models_dir
    listing = list_available or name is None
    if not listing and name and not force and looks_like_model(models_dir / name):
        # No network needed for a model that is already there.
        typer.echo(f"{name} is already installed at {models_dir / name} (--force downloads again)")
        return
    try:
        catalog = fetch_catalog(settings.asr.catalog_url)
    except DownloadError as exc:
        _fail(str(exc))
    if listing:
        _print_catalog(catalog, models_dir)
        return
    entry = next((e for e in catalog if e.name == name), None)
    if entry is None:
        _fail(f"no model {name!r} in the catalog; see `tingyin models download --list-available`")
    try:
        info = download_model(entry, models_dir, force=force)
    except (DownloadError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"installed {info.name} ({info.language or 'language unknown'}) at {info.path}")


def _print_catalog(catalog: list[CatalogEntry], models_dir: Path) -> None:
    rows = [["NAME", "LANGUAGE", "TYPE", "SIZE", "INSTALLED"]]
    for e in sorted((e for e in catalog if not e.obsolete), key=lambda e: (e.lang, e.name)):
        installed = "yes" if looks_like_model(models_dir / e.name) else ""
        rows.append([e.name, e.lang, e.type, f"{e.size / 1e6:.0f} MB", installed])
    _table(rows)
