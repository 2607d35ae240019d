"""The daily report: written by the CLI for a day of the generated history, self-contained;
the hub's service knows when one is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.unit.reports.history import NOW, TZ, plan, write
from tingyin.cli import app
from tingyin.config import Settings
from tingyin.reports import queries
from tingyin.reports.daily import report_path
from tingyin.reports.service import ReportService
from tingyin.store import Database
from tingyin.tickets.policy import load_ticket_policy


def test_the_cli_writes_a_self_contained_day(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    history = plan()
    write(db, history)
    db.dispose()
    day = (NOW.astimezone(TZ) - timedelta(days=2)).date()
    result = CliRunner().invoke(
        app, ["reports", "daily", "--date", day.isoformat(), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "reports" / f"{day.isoformat()}.html"
    assert result.output.strip() == f"wrote {path}"
    text = path.read_text(encoding="utf-8")
    calls = [c for c in history.calls if c.started.astimezone(TZ).date() == day]
    offered = sum(c.ivr == "queued" for c in calls)
    assert f"来电 calls<b>{len(calls)}</b>" in text
    assert f"进入队列 offered<b>{offered}</b>" in text
    assert text.count("<svg") >= 2
    assert "<script" not in text and 'href="http' not in text and "src=" not in text
    bad = CliRunner().invoke(app, ["reports", "daily", "--date", "yesterday", "--data-dir",
                                   str(tmp_path)])  # fmt: skip
    assert bad.exit_code == 2
    rebuilt = CliRunner().invoke(app, ["reports", "rebuild", "--days", "3", "--data-dir",
                                       str(tmp_path)])  # fmt: skip
    assert rebuilt.exit_code == 0 and rebuilt.output.startswith("recomputed "), rebuilt.output


def test_the_service_writes_yesterday_once_after_the_report_time(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, reports={"daily_report_time": "06:30"})
    db = Database(settings.resolved_database_url)
    db.migrate()
    service = ReportService(db, settings, load_ticket_policy())
    morning = NOW.replace(hour=22, minute=0) - timedelta(days=1)  # 06:00 in Shanghai
    assert service.daily_due(morning) is None
    later = morning + timedelta(hours=1)
    yesterday = (later.astimezone(TZ) - timedelta(days=1)).date()
    assert service.daily_due(later) == yesterday
    service.tick(later)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / f"{yesterday.isoformat()}.html").write_text("done")
    assert service.daily_due(later) is None
    db.dispose()


def test_the_service_loop_catches_up_and_writes_yesterday(tmp_path: Path) -> None:
    """What the hub runs: the backlog of a store that had no pre-aggregates yet is worked off,
    and yesterday's report is written (its time, 00:00, has passed)."""
    settings = Settings(data_dir=tmp_path, reports={"daily_report_time": "00:00"})
    db = Database(settings.resolved_database_url)
    db.migrate()
    now = datetime.now(UTC)
    history = plan(now=now)
    service = ReportService(db, settings, write(db, history))
    yesterday = (now.astimezone(TZ) - timedelta(days=1)).date()

    async def serve_a_while() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        for _ in range(600):
            if report_path(settings, yesterday).exists():
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(serve_a_while())
    assert report_path(settings, yesterday).exists()
    with db.session() as session:
        totals = queries.call_totals(session, now - timedelta(days=20), now)
    assert totals.calls == len(history.calls)
    db.dispose()
