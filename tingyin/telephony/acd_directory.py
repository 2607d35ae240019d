"""The ACD's view of the agents, kept in the store (``tingyin.agents``): who is ready, and the
state changes an offer brings (ringing → on_call → wrap_up → ready; missed → maybe not ready).

Each method is one short transaction, run in a thread by the ACD, and returns the
``AgentStateChanged`` to announce (None when nothing changed or the move no longer applies —
an agent who went offline while their phone rang stays offline).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.agents.actions import AgentError, ready_agents, record_missed_offer, set_state
from tingyin.agents.config import QueueConfig
from tingyin.bus.events import AgentStateChanged, utcnow
from tingyin.store import Database
from tingyin.store.models import AgentProfile, Call, CallEventRow, Ticket, User
from tingyin.telephony.acd import Offerable, QueueRules
from tingyin.telephony.callbacks import PendingCallback, owed_callbacks

log = logging.getLogger(__name__)


class StoreDirectory:
    def __init__(self, db: Database, config: QueueConfig) -> None:
        self.db = db
        self.config = config

    def ready(self, rules: QueueRules) -> list[Offerable]:
        with self.db.session() as session:
            return [
                Offerable(p.user_id, p.phone_uri or "", p.idle_since)
                for p in ready_agents(session, rules.line, rules.language, rules.min_level)
            ]

    def ringing(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self._move(agent_id, "ringing", call_id=call_id, only_from=("ready",))

    def talking(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self._move(agent_id, "on_call", call_id=call_id)

    def back_to_ready(self, agent_id: int) -> AgentStateChanged | None:
        return self._move(agent_id, "ready", only_from=("ringing",))

    def wrap_up(self, agent_id: int) -> AgentStateChanged | None:
        return self._move(agent_id, "wrap_up", only_from=("on_call",))

    def wrap_up_over(self, agent_id: int) -> AgentStateChanged | None:
        return self._move(agent_id, "ready", only_from=("wrap_up",))

    def missed(self, agent_id: int) -> AgentStateChanged | None:
        return self._in_session(
            agent_id, lambda s: record_missed_offer(s, self.config, agent_id, utcnow())
        )

    def urgent_ticket(self, ticket_numbers: tuple[str, ...]) -> bool:
        with self.db.session() as session:
            found = session.scalar(
                select(Ticket.id).where(
                    Ticket.number.in_(ticket_numbers), Ticket.priority == "urgent"
                )
            )
            return found is not None

    def pending_callbacks(self, since: datetime) -> list[PendingCallback]:
        """Callbacks asked for since ``since`` and still owed (for a hub that restarted)."""
        kinds = ("queued", "queue_left", "callback")
        with self.db.session() as session:
            asked = select(CallEventRow.call_id).where(
                CallEventRow.kind == "queue_left", CallEventRow.at >= since
            )
            rows = session.execute(
                select(CallEventRow.call_id, CallEventRow.at, CallEventRow.kind, CallEventRow.data)
                .where(CallEventRow.call_id.in_(asked), CallEventRow.kind.in_(kinds))
                .order_by(CallEventRow.at, CallEventRow.id)
            )
            calls: dict[str, list[tuple[datetime, str, dict[str, object]]]] = {}
            for call_id, at, kind, data in rows:
                calls.setdefault(call_id, []).append((at, kind, dict(data or {})))
            found = session.execute(select(Call.id, Call.caller_number).where(Call.id.in_(calls)))
            numbers = {call_id: number for call_id, number in found}
        return owed_callbacks(calls, numbers)

    def _move(
        self,
        agent_id: int,
        state: str,
        *,
        call_id: str | None = None,
        only_from: tuple[str, ...] | None = None,
    ) -> AgentStateChanged | None:
        def change(session: Session) -> AgentProfile | None:
            profile = session.get(AgentProfile, agent_id)
            if profile is None or (only_from is not None and profile.state not in only_from):
                return None
            return set_state(session, self.config, agent_id, state, now=utcnow(), by="system",
                             call_id=call_id)  # fmt: skip

        return self._in_session(agent_id, change)

    def _in_session(
        self, agent_id: int, change: Callable[[Session], AgentProfile | None]
    ) -> AgentStateChanged | None:
        with self.db.session() as session:
            before = session.get(AgentProfile, agent_id)
            old = (before.state, before.state_reason) if before is not None else None
            try:
                profile = change(session)
            except AgentError as exc:
                log.info("agent %d not moved: %s", agent_id, exc)
                return None
            user = session.get(User, agent_id)
            if profile is None or user is None or (profile.state, profile.state_reason) == old:
                return None
            return AgentStateChanged(
                user_id=user.id, username=user.username, display_name=user.display_name,
                state=profile.state, reason=profile.state_reason, since=profile.state_since,
                call_id=profile.current_call_id or "",
            )  # fmt: skip
