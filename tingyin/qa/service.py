"""Runs automatic QA for every finished call, off the event loop, once its transcript is final.

On ``CallEnded`` the call waits ``settle_s`` (the CDR writer stores the end, the recorder closes
the file), then until no leg's transcript is still live, pending or being re-run from the
recording (at most ``max_wait_s``: then it goes ahead with what is there). One worker thread:
calls are analysed one at a time, each well under its own length (bench/qa.py).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded
from tingyin.config import Settings
from tingyin.qa.auto import QaRules, RecordingFile, run_auto_qa
from tingyin.qa.checks import QaChecksError, load_qa_checks
from tingyin.qa.scorecard import ScorecardError, load_scorecard
from tingyin.store import Database
from tingyin.store.models import Call, TranscriptLeg
from tingyin.telephony.api import recording_file

log = logging.getLogger(__name__)

UNSETTLED = ("live", "pending", "transcribing")


class QaService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        rules: QaRules,
        recording_file: RecordingFile,
        *,
        settle_s: float = 2.0,
        max_wait_s: float = 180.0,
        poll_s: float = 1.0,
    ) -> None:
        self.db, self.rules, self.recording_file = db, rules, recording_file
        self.settle_s, self.max_wait_s, self.poll_s = settle_s, max_wait_s, poll_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa")
        self._tasks: set[asyncio.Task[None]] = set()
        self.done = 0
        self._unsubscribe = bus.subscribe(CallEnded, self._on_ended)

    async def _on_ended(self, event: CallEnded) -> None:
        task = asyncio.get_running_loop().create_task(self._run(event.call_id), name="qa-call")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _unsettled(self, call_id: str) -> bool:
        """The call's end is not stored yet, or a leg's transcript is still coming."""
        with self.db.session() as session:
            call = session.get(Call, call_id)
            if call is None or call.ended_at is None:
                return True
            statuses = session.scalars(
                select(TranscriptLeg.status).where(TranscriptLeg.call_id == call_id)
            )
            return any(s in UNSETTLED for s in statuses)

    async def _run(self, call_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.settle_s)
            waited = 0.0
            while waited < self.max_wait_s and await loop.run_in_executor(
                self._executor, self._unsettled, call_id
            ):
                await asyncio.sleep(self.poll_s)
                waited += self.poll_s
            result = await loop.run_in_executor(
                self._executor, run_auto_qa, self.db, self.rules, call_id, self.recording_file
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("automatic QA of call %s failed", call_id)
            return
        if result is not None:
            self.done += 1
            log.info(
                "QA call %s: auto %.1f%s in %.2f s%s",
                call_id,
                result.total,
                " (critical)" if result.critical_failed else "",
                result.seconds,
                f", review: {', '.join(result.review_reasons)}" if result.review_reasons else "",
            )

    async def stop(self) -> None:
        self._unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=True)


class QaConfigError(Exception):
    """The scorecard or the automatic-QA file is broken (the hub refuses to start)."""


def load_qa_rules(settings: Settings) -> QaRules | None:
    """The configured scorecard and checks; None when automatic QA is off."""
    if not settings.qa.enabled:
        return None
    try:
        card = load_scorecard(settings.qa.scorecard_file)
        checks = load_qa_checks(settings.qa.checks_file)
    except (ScorecardError, QaChecksError) as exc:
        raise QaConfigError(str(exc)) from None
    return QaRules(card, checks)


def qa_service(settings: Settings, db: Database, bus: EventBus, rules: QaRules) -> QaService:
    def find(stored: str) -> Path | None:
        return recording_file(settings, stored)

    return QaService(db, bus, rules, find, settle_s=settings.qa.settle_seconds)
