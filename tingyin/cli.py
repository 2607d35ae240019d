"""The ``tingyin`` command: serve, demo, users, seed, orders."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tingyin.asr.cli import models_app
from tingyin.asr.transcribe import transcribe
from tingyin.config import Settings, SettingsError, load_settings
from tingyin.logsetup import configure_logging
from tingyin.qa.cli import qa_app
from tingyin.reports.cli import reports_app

app = typer.Typer(
    help="Tingyin (听音): voice call center for food-delivery customer service.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage users and roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
orders_app = typer.Typer(help="Order data for the screen pop.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")
app.add_typer(models_app, name="models")
app.add_typer(qa_app, name="qa")
ivr_app = typer.Typer(help="The IVR menu.", no_args_is_help=True)
app.add_typer(ivr_app, name="ivr")
agents_app = typer.Typer(help="Agents: extension, phone, lines and level.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")
app.add_typer(reports_app, name="reports")
app.command("transcribe")(transcribe)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory")]


def _settings(config: Path | None, **flags: Any) -> Settings:
    overrides: dict[str, Any] = {}
    for key, value in flags.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        if name:
            overrides.setdefault(section, {})[name] = value
        else:
            overrides[key] = value
    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    configure_logging(settings.log_level, "hub")


@app.command()
def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    sip_port: Annotated[int | None, typer.Option(help="Public SIP port; 0 = free port")] = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP port; 0 = free port")] = None,
    workers: Annotated[int | None, typer.Option(help="Media worker processes")] = None,
) -> None:
    """Run every part: Kamailio, media workers, the web app. Prints 'ready …' when serving."""
    from tingyin.hub.serve import serve as run_hub

    settings = _settings(
        config, data_dir=data_dir, sip__port=sip_port, http__port=http_port, sip__workers=workers
    )
    _logging(settings)
    raise typer.Exit(asyncio.run(_run_hub(run_hub, settings)))


async def _run_hub(run_hub: Any, settings: Settings, **kwargs: Any) -> int:
    from tingyin.hub.supervisor import StartupError

    try:
        return int(await run_hub(settings, out=sys.stdout, **kwargs))
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1


@app.command()
def demo(
    config: ConfigOpt = None,
    data_dir: Annotated[Path, typer.Option("--data-dir")] = Path("demo-data"),
    sip_port: Annotated[int, typer.Option()] = 5060,
    http_port: Annotated[int, typer.Option()] = 8000,
    call_every: Annotated[float, typer.Option(help="Seconds between demo calls")] = 20.0,
) -> None:
    """Serve with demo users and a demo call every few seconds that you can watch live."""
    from tingyin.demo import (
        demo_asr,
        demo_softphone,
        place_demo_calls,
        seed_demo,
        seed_demo_orders,
    )
    from tingyin.hub.serve import serve as run_hub

    settings = _settings(config, data_dir=data_dir, sip__port=sip_port, http__port=http_port)
    _logging(settings)
    settings, note = demo_asr(settings)
    settings = demo_softphone(settings)
    if note:
        typer.echo(note)
    for line in seed_demo(settings):
        typer.echo(line)
    for line in seed_demo_orders(settings):
        typer.echo(line)

    async def after_ready(host: str, port: int, http: int) -> None:
        typer.echo(f"Open http://{settings.http.bind_address}:{http}/ and log in as above.")
        await place_demo_calls(settings, host, port, call_every)

    raise typer.Exit(asyncio.run(_run_hub(run_hub, settings, after_ready=after_ready)))


@app.command()
def seed(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    orders: Annotated[int, typer.Option(min=0, help="Random orders to add (0: none)")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for the orders")] = 0,
) -> None:
    """Load the demo data set: demo users, the planted screen-pop cases, random orders."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tingyin.demo import seed_demo
    from tingyin.screenpop.scenarios import plant_scenarios
    from tingyin.screenpop.seed import generate_orders
    from tingyin.store import Database

    settings = _settings(config, data_dir=data_dir)
    for line in seed_demo(settings):
        typer.echo(line)
    db = Database(settings.resolved_database_url)
    now = datetime.now(UTC)
    try:
        if orders:
            summary = generate_orders(
                db, orders, now=now, seed=seed, tz=ZoneInfo(settings.timezone)
            )
            typer.echo(
                f"added {summary.orders} orders ({summary.items} items, {summary.events} "
                f"timeline steps), {summary.customers} customers, {summary.stores} stores, "
                f"{summary.riders} riders in {summary.seconds:.1f} s"
            )
        planted = plant_scenarios(db, now=now, refresh=True)
    finally:
        db.dispose()
    typer.echo("planted cases:" if planted.created else "planted cases (moved to now):")
    for line in planted.lines():
        typer.echo(f"  {line}")


@ivr_app.command("check")
def ivr_check(
    file: Annotated[Path | None, typer.Argument(help="Menu file (default: built-in)")] = None,
) -> None:
    """Check an IVR menu file: every mistake with the node and field it is in."""
    from tingyin.ivr.menu import MenuError, load_menu

    try:
        menu = load_menu(file)
    except MenuError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {len(menu.nodes)} nodes, starting at {menu.start!r}")


@orders_app.command("import")
def orders_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON export")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: the file's suffix)")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import orders from a platform export; rows with errors are skipped and listed."""
    from zoneinfo import ZoneInfo

    from tingyin.screenpop.importer import ImportFormatError, import_orders
    from tingyin.store import Database

    settings = _settings(config, data_dir=data_dir)
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        report = import_orders(db, file, tz=ZoneInfo(settings.timezone), fmt=fmt)
    except ImportFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    for error in report.errors:
        typer.echo(error, err=True)
    typer.echo(
        f"imported {report.imported} orders ({report.updated} updated), skipped {report.skipped}"
    )
    if report.skipped:
        raise typer.Exit(1)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="agent, supervisor, qa or admin")],
    display_name: Annotated[str, typer.Option()] = "",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a user; the password is read from standard input."""
    from tingyin.accounts.actions import AccountError, create_user
    from tingyin.store import Database

    settings = _settings(config, data_dir=data_dir)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("error: passwords differ", err=True)
            raise typer.Exit(2)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            user = create_user(session, name, password, role, display_name=display_name)
            typer.echo(f"added {user.username} ({user.role})")
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()


@users_app.command("list")
def users_list(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List users and their roles."""
    from tingyin.accounts.queries import list_users
    from tingyin.store import Database

    db = Database(_settings(config, data_dir=data_dir).resolved_database_url)
    db.migrate()
    with db.session() as session:
        for user in list_users(session):
            typer.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'disabled'}")
    db.dispose()


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


@agents_app.command("set")
def agents_set(
    name: str,
    extension: Annotated[str | None, typer.Option(help="Digits, e.g. 8001 ('' clears it)")] = None,
    phone: Annotated[
        str | None, typer.Option(help="SIP URI that rings the agent, or browser ('' clears it)")
    ] = None,
    lines: Annotated[str | None, typer.Option(help="customer,rider,merchant")] = None,
    languages: Annotated[str | None, typer.Option(help="e.g. zh,en")] = None,
    level: Annotated[int | None, typer.Option(help="1–5")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set an agent's extension, phone URI, lines, languages or level."""
    from tingyin.accounts.queries import user_by_name
    from tingyin.agents.actions import AgentError, ProfileChanges, configure_agent
    from tingyin.store import Database

    changes = ProfileChanges(
        extension=extension or None,
        clear_extension=extension == "",
        phone_uri=phone or None,
        clear_phone_uri=phone == "",
        lines=_csv(lines),
        languages=_csv(languages),
        level=level,
    )
    db = Database(_settings(config, data_dir=data_dir).resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            user = user_by_name(session, name)
            if user is None:
                typer.echo(f"error: no user {name!r}", err=True)
                raise typer.Exit(2)
            p = configure_agent(session, user.id, changes)
            typer.echo(
                f"{user.username}: extension {p.extension or '-'}, phone {p.phone_uri or '-'}, "
                f"lines {','.join(p.lines)}, languages {','.join(p.languages)}, level {p.level}"
            )
    except AgentError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()


@agents_app.command("list")
def agents_list(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List agents: extension, phone, lines, level and state."""
    from tingyin.agents.queries import agents
    from tingyin.store import Database

    db = Database(_settings(config, data_dir=data_dir).resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            for user, p in agents(session):
                if p is None:
                    typer.echo(f"{user.username}\t-\t-\tcustomer\t1\toffline")
                    continue
                state = f"{p.state}:{p.state_reason}" if p.state_reason else p.state
                typer.echo(
                    f"{user.username}\t{p.extension or '-'}\t{p.phone_uri or '-'}\t"
                    f"{','.join(p.lines)}\t{p.level}\t{state}"
                )
    finally:
        db.dispose()


if __name__ == "__main__":
    app()
