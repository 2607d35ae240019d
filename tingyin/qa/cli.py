"""``tingyin qa check``: the scorecard and the automatic-QA file, every mistake by its place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

qa_app = typer.Typer(help="QA: the scorecard and the automatic checks.", no_args_is_help=True)


@qa_app.command("check")
def qa_check(
    scorecard: Annotated[
        Path | None, typer.Argument(help="Scorecard file (default: built-in)")
    ] = None,
    checks: Annotated[
        Path | None, typer.Option("--checks", help="Automatic-QA file (default: built-in)")
    ] = None,
) -> None:
    """Check a scorecard (and the automatic-QA file): every mistake with its section and item."""
    from tingyin.qa.checks import QaChecksError, load_qa_checks
    from tingyin.qa.scorecard import ScorecardError, load_scorecard

    try:
        card = load_scorecard(scorecard)
        load_qa_checks(checks)
    except (ScorecardError, QaChecksError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    weight = sum(item.weight for item in card.items())
    critical = sum(item.critical for item in card.items())
    typer.echo(
        f"ok: {card.id} v{card.version} ({card.content_hash[:12]}), {len(card.sections)} "
        f"sections, {len(card.items())} items ({critical} critical), weights sum to {weight:g}"
    )
