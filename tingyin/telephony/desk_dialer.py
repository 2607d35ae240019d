"""Calls an agent places from the desk: the customer's number is dialled and the agent's phone
rings on the same worker (a browser softphone picks up by itself: the agent clicked to call);
the worker bridges the two once both have answered (``AgentLegs``). The call belongs to the
agent: if their leg ends, unanswered or hung up, the customer's leg ends with it, and a
customer who does not answer within ``ring_seconds`` is given up. The API set the agent on a
call when they dialled; a call that never connected sets them ready again (a connected one
goes to wrap-up through the ACD, as any call)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from tingyin.agents.actions import AgentError, set_state, state_event
from tingyin.agents.config import QueueConfig
from tingyin.bus import EventBus
from tingyin.bus.events import AgentLeg, AgentStateChanged, OutboundRequested, utcnow
from tingyin.privacy import mask_number
from tingyin.store import Database
from tingyin.store.models import AgentProfile, User
from tingyin.telephony.browser_leg import is_browser_uri
from tingyin.telephony.control import CallControl, CallHandle, OutboundError, SendCommand

log = logging.getLogger(__name__)

MAX_CALL_S = 4 * 3600.0


class DeskDialer:
    def __init__(
        self,
        bus: EventBus,
        control: CallControl,
        send_command: SendCommand,
        db: Database,
        queue_config: QueueConfig,
        *,
        ring_seconds: float = 40.0,
        agent_ring_seconds: float = 30.0,
    ) -> None:
        self.bus = bus
        self.control = control
        self._send = send_command
        self.db = db
        self.queue_config = queue_config
        self._agents: dict[str, int] = {}  # call id → the agent who dialled it
        self.ring_seconds = ring_seconds
        self.agent_ring_seconds = agent_ring_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        bus.subscribe(OutboundRequested, self._on_request)
        bus.subscribe(AgentLeg, self._on_leg)

    async def _on_request(self, event: OutboundRequested) -> None:
        self._agents[event.call_id] = event.agent_id
        try:
            handle = await self.control.originate(event.number, call_id=event.call_id)
        except OutboundError as exc:
            log.warning("agent %d could not dial %s: %s", event.agent_id,
                        mask_number(event.number), exc)  # fmt: skip
            self.bus.publish(AgentLeg(call_id=event.call_id, leg_id="", state="failed",
                                      agent_id=event.agent_id, reason="no-line"))  # fmt: skip
            return
        command = {
            "command": "connect_agent", "call_id": handle.call_id, "leg_id": uuid.uuid4().hex,
            "uri": event.phone_uri, "agent_id": event.agent_id, "owned": True,
            "answer": is_browser_uri(event.phone_uri), "ring_seconds": self.agent_ring_seconds,
            "caller": self.control.outbound.caller_id,
        }  # fmt: skip
        if not await self._send(handle.worker, command):
            await handle.hangup()
            return
        task = asyncio.get_running_loop().create_task(self._watch(handle))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_leg(self, event: AgentLeg) -> None:
        agent_id = self._agents.get(event.call_id)
        if agent_id is None or event.state not in ("failed", "ended"):
            return
        del self._agents[event.call_id]
        if event.state == "failed":  # never connected: no wrap-up owed
            changed = await asyncio.to_thread(self._ready_again, agent_id, event.call_id)
            if changed is not None:
                self.bus.publish(changed)

    def _ready_again(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        with self.db.session() as session:
            profile = session.get(AgentProfile, agent_id)
            user = session.get(User, agent_id)
            if profile is None or user is None or profile.current_call_id != call_id:
                return None
            try:
                profile = set_state(session, self.queue_config, agent_id, "ready",
                                    now=utcnow(), by="system")  # fmt: skip
            except AgentError:
                return None
            return state_event(user, profile)

    async def _watch(self, handle: CallHandle) -> None:
        try:
            if await handle.wait_answered(self.ring_seconds):
                await handle.wait_ended(MAX_CALL_S)
        finally:
            self.control.release(handle)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
