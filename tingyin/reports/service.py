"""The hub's report service: keeps the pre-aggregates fresh and writes the daily report.

Every ``[reports] refresh_seconds`` it scans for new raw rows and recomputes the dirty buckets
(``rollup``), in a worker thread so the event loop never waits on it. Once a day, after
``daily_report_time`` local time, it writes yesterday's report if the file is not there yet
(so a hub that was down at that time catches up when it starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tingyin.bus.events import utcnow
from tingyin.config import Settings
from tingyin.reports.daily import report_path, write_daily
from tingyin.reports.rollup import RefreshResult, optimize, refresh, scan
from tingyin.store import Database
from tingyin.tickets.policy import TicketPolicy

log = logging.getLogger(__name__)

BATCH = 300  # dirty keys per transaction
BACKLOG_PAUSE_S = 0.2


class ReportService:
    def __init__(self, db: Database, settings: Settings, policy: TicketPolicy) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy
        self.tz = ZoneInfo(settings.timezone)
        self.window = timedelta(hours=settings.reports.fcr_window_hours)
        hh, mm = settings.reports.daily_report_time.split(":")
        self.report_time = time(int(hh) % 24, int(mm))

    def tick(self, now: datetime, *, scan_first: bool = True) -> RefreshResult:
        if scan_first:
            with self.db.session() as session:
                scan(session, now, self.tz, self.window)
        # Small batches: each is one transaction, and SQLite has one writer (the CDR's too).
        with self.db.session() as session:
            return refresh(
                session, self.policy, now=now, tz=self.tz, fcr_window=self.window, limit=BATCH
            )

    def daily_due(self, now: datetime) -> date | None:
        """Yesterday, once its report time has passed and its file is missing."""
        if not self.settings.reports.daily_report:
            return None
        local = now.astimezone(self.tz)
        if local.time() < self.report_time:
            return None
        day = local.date() - timedelta(days=1)
        return None if report_path(self.settings, day).exists() else day

    def optimize(self) -> None:
        with self.db.session() as session:
            optimize(session)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.optimize)
        while not stop.is_set():
            now = utcnow()
            try:
                done = await asyncio.to_thread(self.tick, now)
                # A backlog (the first start on an existing store, a rebuild) is worked off
                # batch after batch, with a pause between for the other writers.
                while done.left and (done.half_hours or done.tickets or done.term_days):
                    if stop.is_set():
                        return
                    await asyncio.sleep(BACKLOG_PAUSE_S)
                    done = await asyncio.to_thread(self.tick, utcnow(), scan_first=False)
                day = self.daily_due(now)
                if day is not None:
                    path = await asyncio.to_thread(
                        write_daily, self.db, self.settings, self.policy, day, now
                    )
                    log.info("daily report written: %s", path)
                    await asyncio.to_thread(self.optimize)
            except Exception:
                log.exception("report refresh failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.reports.refresh_seconds)
