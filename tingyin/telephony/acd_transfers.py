"""Transfers and 3-way calls, the ACD's side: what the desk asks for, sent to the customer's
media worker, and the agents' states that follow.

- Blind transfer to a queue or one agent (``TransferRequested``): the worker lets the agent go
  (their leg ends "transferred"), then the caller waits again ahead of new callers.
- Blind transfer to an outside number (``OutsideTransferRequested``): it is rung from the
  customer's worker through the outbound route, and the agent leaves.
- Attended transfer (``ConsultRequested``): a ready colleague is rung for the agent on the call
  (state ringing, like an offer) while the customer holds; their ``ConsultLeg`` moves them on
  call, back to ready, or to wrap-up; once completed their leg is an ``AgentLeg`` like any other.
- 3-way (``PartyRequested``): the merchant or rider joins from the customer's worker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from tingyin.bus.events import (
    AgentLeg,
    ConsultLeg,
    ConsultRequested,
    OutsideTransferRequested,
    PartyRequested,
    TransferRequested,
)

if TYPE_CHECKING:
    from tingyin.telephony.acd import Acd, Offerable, SendCommand, WorkerOf

log = logging.getLogger(__name__)
TRANSFER_PRIORITY = 50  # a transferred caller has waited once already


class TransferDesk:
    def __init__(self, acd: Acd, send_command: SendCommand, worker_of: WorkerOf) -> None:
        self.acd = acd
        self._send = send_command
        self._worker_of = worker_of
        self._transfers: dict[str, TransferRequested] = {}  # released agent → requeue
        self._consulting: set[str] = set()  # calls whose agent consults a colleague
        bus = acd.bus
        bus.subscribe(TransferRequested, self._on_transfer)
        bus.subscribe(PartyRequested, self._on_party)
        bus.subscribe(ConsultRequested, self._on_consult)
        bus.subscribe(ConsultLeg, self._on_consult_leg)
        bus.subscribe(OutsideTransferRequested, self._on_transfer_out)

    def released(self, event: AgentLeg) -> bool:
        """An agent leg ended: True when it was let go for a blind transfer and the caller now
        waits again (with hold music)."""
        transfer = self._transfers.pop(event.call_id, None)
        if transfer is None or event.reason != "transferred":
            return False
        self._requeue(transfer, event.agent_id)
        worker = self._worker_of(event.call_id)
        if self.acd.on_requeued is not None and worker is not None:
            self.acd.on_requeued(event.call_id, worker)  # hold music while they wait again
        return True

    def forget(self, call_id: str) -> None:
        self._transfers.pop(call_id, None)
        self._consulting.discard(call_id)

    async def _on_transfer(self, event: TransferRequested) -> None:
        """Blind transfer: the worker lets the agent go (the leg ends "transferred"), then the
        caller waits again — in the queue named, or for one agent — ahead of new callers."""
        worker = self._worker_of(event.call_id)
        if worker is None or event.call_id in self.acd.waiting:
            return
        self._transfers[event.call_id] = event
        if not await self._send(worker, {"command": "release_agent", "call_id": event.call_id}):
            self._transfers.pop(event.call_id, None)

    async def _on_party(self, event: PartyRequested) -> None:
        """A 3-way call: the merchant or rider is rung from the customer's own worker and joins
        the customer and the agent there."""
        worker, dial_uri = self._worker_of(event.call_id), self.acd.dial_uri
        if worker is None or dial_uri is None:
            log.warning("call %s: no third party (no worker or no outbound route)", event.call_id)
            return
        command = {
            "command": "add_party", "call_id": event.call_id, "leg_id": uuid.uuid4().hex,
            "uri": dial_uri(event.number), "caller": self.acd.caller_id, "ring_seconds": 30,
        }  # fmt: skip
        await self._send(worker, command)

    async def _on_consult(self, event: ConsultRequested) -> None:
        """Attended transfer: ring the colleague (ready, in any queue's pool) for the agent on
        the call, like an offer; complete and cancel go to the worker as they are."""
        worker = self._worker_of(event.call_id)
        if worker is None or event.call_id in self.acd.waiting:
            return
        if event.action in ("complete", "cancel"):
            await self._send(worker, {"command": f"consult_{event.action}",
                                      "call_id": event.call_id})  # fmt: skip
            return
        if event.call_id in self._consulting:  # one at a time (a second click)
            return
        self._consulting.add(event.call_id)
        leg_id = uuid.uuid4().hex
        target = await self._ready_agent(event.agent_id)
        changed = None
        if target is not None:
            changed = await asyncio.to_thread(self.acd.directory.ringing, target.agent_id,
                                              event.call_id)  # fmt: skip
        if target is None or changed is None:  # not ready (any more), or no reachable phone
            failed = ConsultLeg(call_id=event.call_id, leg_id=leg_id, state="failed",
                                agent_id=event.agent_id, from_agent=event.by_user,
                                reason="unavailable")  # fmt: skip
            self.acd.bus.publish(failed)
            return
        self.acd.bus.publish(changed)
        command = {
            "command": "consult", "call_id": event.call_id, "leg_id": leg_id,
            "uri": target.phone_uri, "agent_id": target.agent_id,
            "ring_seconds": self.acd.ring_seconds, "caller": self.acd.caller_id,
            "music": await self._music(),
        }  # fmt: skip
        if not await self._send(worker, command):
            self._consulting.discard(event.call_id)
            await self.acd.move_agent(self.acd.directory.back_to_ready, target.agent_id)

    async def _on_consult_leg(self, event: ConsultLeg) -> None:
        """The colleague's state follows their consult leg, as an offer's would; once handed
        the customer (completed) their leg is an agent leg (``AgentLeg``) like any other."""
        if event.state in ("completed", "ended", "failed"):
            self._consulting.discard(event.call_id)
        if event.state == "answered":
            await self.acd.move_agent(self.acd.directory.talking, event.agent_id, event.call_id)
        elif event.state == "failed" and event.reason != "unavailable":  # (never rung)
            await self.acd.move_agent(self.acd.directory.back_to_ready, event.agent_id)
            await self.acd.dispatch()
        elif event.state == "ended":
            await self.acd.move_agent(self.acd.directory.wrap_up, event.agent_id)
            self.acd.wrap_up_later(event.agent_id)

    async def _on_transfer_out(self, event: OutsideTransferRequested) -> None:
        """Blind transfer to an outside number, rung from the customer's worker (as a third
        party); the worker then lets the agent go (their leg ends "transferred")."""
        worker, dial_uri = self._worker_of(event.call_id), self.acd.dial_uri
        if worker is None or dial_uri is None or event.call_id in self.acd.waiting:
            log.warning("call %s: not transferred out (no worker, no outbound route, or queued)",
                        event.call_id)  # fmt: skip
            return
        command = {
            "command": "transfer_out", "call_id": event.call_id, "leg_id": uuid.uuid4().hex,
            "uri": dial_uri(event.number), "caller": self.acd.caller_id, "ring_seconds": 30,
            "music": await self._music(),
        }  # fmt: skip
        await self._send(worker, command)

    async def _ready_agent(self, agent_id: int) -> Offerable | None:
        for rules in self.acd.queues.values():
            ready = await asyncio.to_thread(self.acd.directory.ready, rules)
            found = next((a for a in ready if a.agent_id == agent_id and a.phone_uri), None)
            if found is not None:
                return found
        return None

    async def _music(self) -> str:
        if self.acd.hold_music is None:
            return ""
        return str(await asyncio.to_thread(self.acd.hold_music))

    def _requeue(self, transfer: TransferRequested, from_agent: int) -> None:
        from tingyin.telephony.acd import Waiting

        rules = self.acd.queues.get(transfer.queue) or next(iter(self.acd.queues.values()))
        waiting = Waiting(transfer.call_id, rules, transfer.at, priority=TRANSFER_PRIORITY)
        waiting.tried.add(from_agent)
        waiting.only_agent = transfer.agent_id
        self.acd.waiting[transfer.call_id] = waiting
