"""The follow-up survey call (回访): ring the customer, ask for 1–5, store it, act on it.

``SurveyRunner.tick(now)`` claims the follow-ups that are due and calls each through
``telephony.control``; ``run`` ticks every few seconds in the hub. The answer is stored on the
follow-up and in the ticket's history (public: the customer's progress shows it); a low score
reopens the ticket, a good one closes it (both thresholds in the policy's ``[followup]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tingyin.bus.events import utcnow
from tingyin.store import Database
from tingyin.store.models import Call, FollowUp, Ticket
from tingyin.telephony.control import CallControl, CallGone, CallHandle, OutboundError
from tingyin.telephony.prompts import spoken_prompt
from tingyin.tickets.actions import TicketError, add_event, change_status, link_call
from tingyin.tickets.followups import (
    ANSWERED,
    DueCall,
    attempt_failed,
    claim_due,
    release_stale_calls,
)
from tingyin.tickets.policy import TicketPolicy

log = logging.getLogger(__name__)

SCORES = "12345"


class SurveyRunner:
    def __init__(
        self,
        db: Database,
        policy: TicketPolicy,
        control: CallControl,
        prompts_dir: Path,
        *,
        language: str = "zh",
        max_concurrent: int = 2,
        interval: float = 2.0,
    ) -> None:
        self.db = db
        self.policy = policy
        self.control = control
        self.prompts_dir = prompts_dir
        self.language = language
        self.interval = interval
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._calls: set[asyncio.Task[None]] = set()
        self._prompts: dict[str, Path] = {}

    async def run(self, stop: asyncio.Event) -> None:
        released = await asyncio.to_thread(self._release)
        if released:
            log.info("%d interrupted follow-up call(s) put back in line", released)
        while not stop.is_set():
            try:
                await self.tick(utcnow())
            except Exception:  # the database was away: the next tick tries again
                log.exception("follow-up tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)

    async def tick(self, now: datetime) -> list[asyncio.Task[None]]:
        """Start the calls that are due (as many as there are free lines for surveys)."""
        free = self._max_concurrent - len(self._calls)
        if free <= 0 or not self.control.can_dial():  # workers starting or all lines busy
            return []
        due = await asyncio.to_thread(self._claim, now, free)
        started = []
        for item in due:
            task = asyncio.get_running_loop().create_task(self._survey(item))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            started.append(task)
        return started

    def _claim(self, now: datetime, limit: int) -> list[DueCall]:
        with self.db.session() as session:
            return claim_due(session, now, limit)

    def _release(self) -> int:
        with self.db.session() as session:
            return release_stale_calls(session)

    async def _survey(self, item: DueCall) -> None:
        async with self._slots:
            try:
                handle = await self.control.originate(item.number)
            except OutboundError as exc:
                log.warning("follow-up for ticket %s not placed: %s", item.ticket_number, exc)
                await asyncio.to_thread(self._failed, item, f"not placed: {exc}", None)
                return
            score: int | None = None
            try:
                score = await self._converse(handle, item)
            except CallGone as gone:
                log.info("follow-up call for ticket %s ended: %s", item.ticket_number, gone)
            except Exception:
                log.exception("follow-up call for ticket %s failed", item.ticket_number)
            finally:
                await handle.hangup()
                self.control.release(handle)
            if score is None:
                outcome = handle.end_reason or "no key pressed"
                await asyncio.to_thread(self._failed, item, outcome, handle.call_id)

    async def _converse(self, handle: CallHandle, item: DueCall) -> int | None:
        rules = self.policy.followup
        if not await handle.wait_answered(rules.ring_seconds):
            return None
        score = None
        for attempt in range(rules.retries + 1):
            if attempt:
                await handle.play(await self._prompt("invalid"))
                handle.clear_digits()
            await handle.play(await self._prompt("question"))
            digit = await handle.read_digit(rules.answer_seconds)
            if digit is not None and digit in SCORES:
                score = int(digit)
                break
        if score is None:
            return None
        # Stored before the goodbye: a customer who hangs up on it has still answered.
        await asyncio.to_thread(self._answered, item, score, handle.call_id)
        closing = "reopened" if score <= rules.reopen_at_or_below else "thanks"
        with contextlib.suppress(CallGone):
            await handle.play(await self._prompt(closing), barge=False)
        return score

    def _failed(self, item: DueCall, outcome: str, call_id: str | None) -> None:
        with self.db.session() as session:
            attempt_failed(session, self.policy, item.followup_id, outcome, utcnow(), call_id)

    def _answered(self, item: DueCall, score: int, call_id: str) -> None:
        now = utcnow()
        with self.db.session() as session:
            followup = session.get(FollowUp, item.followup_id)
            ticket = session.get(Ticket, followup.ticket_id) if followup else None
            if followup is None or ticket is None:
                return
            record_answer(session, self.policy, ticket, followup, score, call_id, now)

    async def _prompt(self, name: str) -> Path:
        path = self._prompts.get(name)
        if path is None:
            text = getattr(self.policy.followup.prompts, name)
            path = await asyncio.to_thread(
                spoken_prompt, text, self.language, self.prompts_dir, f"survey-{name}"
            )
            self._prompts[name] = path
        return path


def record_answer(
    session: Session, policy: TicketPolicy, ticket: Ticket, followup: FollowUp, score: int,
    call_id: str | None, now: datetime,
) -> None:  # fmt: skip
    """Store the customer's score; a low one reopens the ticket, a good one closes it."""
    followup.status, followup.score, followup.answered_at = ANSWERED, score, now
    followup.outcome, followup.call_id = "answered", call_id or followup.call_id
    add_event(session, ticket, now, None, "followup", {"score": score}, public=True)
    if call_id and session.get(Call, call_id) is not None:  # the CDR row may still be on its way
        link_call(session, ticket, call_id)
    rules, target = policy.followup, None
    if score <= rules.reopen_at_or_below:
        target, note = "reopened", f"回访不满意（{score}分）"
    elif score >= rules.close_at_or_above:
        target, note = "closed", f"回访满意（{score}分）"
    if target is None or ticket.status != "resolved":
        return
    try:
        change_status(session, policy, ticket, target, actor=None, now=now, note=note)
    except TicketError as exc:  # moved on meanwhile; the score stays on record
        log.info("ticket %s not moved after its follow-up: %s", ticket.number, exc)
