"""``tingyin reports``: write a daily report, rebuild the pre-aggregates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from tingyin.config import Settings

if TYPE_CHECKING:
    from tingyin.tickets.policy import TicketPolicy

reports_app = typer.Typer(help="Reports: daily report, pre-aggregates.", no_args_is_help=True)

# Same options as tingyin.cli's; defined here because tingyin.cli imports this module.
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory")]


def _load(config: Path | None, data_dir: Path | None) -> Settings:
    from tingyin.cli import _settings  # at call time: tingyin.cli imports this module

    return _settings(config, data_dir=data_dir)


def _policy(settings: Settings) -> TicketPolicy:
    from tingyin.tickets.policy import TicketPolicyError, load_ticket_policy

    try:
        return load_ticket_policy(settings.tickets.policy_file)
    except TicketPolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@reports_app.command("daily")
def daily(
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, local (default: yesterday)")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write the day's HTML report to <data dir>/reports/YYYY-MM-DD.html."""
    from tingyin.reports.daily import write_daily
    from tingyin.store import Database

    settings = _load(config, data_dir)
    now = datetime.now(UTC)
    try:
        chosen = (
            date.fromisoformat(day)
            if day
            else now.astimezone(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
        )
    except ValueError:
        typer.echo(f"error: --date {day!r} is not YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        path = write_daily(db, settings, _policy(settings), chosen, now)
    finally:
        db.dispose()
    typer.echo(f"wrote {path}")


@reports_app.command("rebuild")
def rebuild(
    days: Annotated[int, typer.Option(min=1, max=3660, help="How many days back")] = 400,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Recompute the pre-aggregates of the last N days from the raw rows."""
    from tingyin.reports.daily import bring_up_to_date
    from tingyin.reports.rollup import rebuild as mark_all
    from tingyin.store import Database

    settings = _load(config, data_dir)
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    first = now.astimezone(tz).date() - timedelta(days=days)
    since = datetime.combine(first, time(), tz).astimezone(UTC)
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            marked = mark_all(session, since=since, until=now, now=now, tz=tz)
        bring_up_to_date(db, settings, _policy(settings), now)
    finally:
        db.dispose()
    typer.echo(f"recomputed {marked} buckets, tickets and days since {first}")
