"""Supervisors listening in from a SIP phone: the hub's side of the feature codes.

A supervisor dials *1 / *2 / *3 + an agent's extension (listen / whisper / barge); the media
worker that got the INVITE rings the phone and reports it (``SupervisorPhone`` dialled, see
``telephony.supervisor_phones``). Here the phone's number names the supervisor (the extension
or phone URI of their agent profile, set by an admin as for agents), their role must allow the
mode, and the extension names the agent whose call they join. Then:

- the agent's call is on the phone's own worker: that worker wires the phone to the call's
  bridge directly (``local``);
- it is on another worker: that worker gets a monitor port as for a browser, and this hub
  carries its audio across as PCM: the monitor's ear → the phone's relay port, and (whisper,
  barge) the phone's voice → the monitor's microphone. ``relay`` is that router.

DTMF 4 / 5 / 6 switch modes, checked against the role like the first dial. Every mode chosen
and the end are audited (``call.monitor``, ``call.monitor.end``, ``via: sip``), as from the
browser.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tingyin.audit.actions import record_audit
from tingyin.bus import EventBus
from tingyin.bus.events import MonitorLeg, SupervisorPhone
from tingyin.config.settings import Settings
from tingyin.listening.permissions import MONITOR_MODES, monitor_refusal
from tingyin.store.database import Database
from tingyin.store.models import AgentProfile, User
from tingyin.telephony.supervisor_phones import FEATURE_CODE

log = logging.getLogger(__name__)

SendCommand = Callable[[int, dict[str, Any]], Awaitable[bool]]
SendPcm = Callable[[int, str, bytes], bool]
WorkerOf = Callable[[str], int | None]

MODE_OF_CODE = {"1": "listen", "2": "whisper", "3": "barge"}
MODE_OF_KEY = {"4": "listen", "5": "whisper", "6": "barge"}
PHONE_NUMBER = re.compile(r"^\+?[0-9]{2,32}$")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class PhoneWatch:
    """One supervisor's phone on one call."""

    leg_id: str  # the phone's leg, on ``phone_worker``
    phone_worker: int
    user_id: int
    call_id: str
    call_worker: int
    monitor_id: str
    mode: str
    started: float = field(default_factory=time.monotonic)
    modes: list[str] = field(default_factory=list)

    @property
    def local(self) -> bool:
        return self.phone_worker == self.call_worker


class SipMonitors:
    def __init__(
        self,
        bus: EventBus,
        db: Database,
        settings: Settings,
        send_command: SendCommand,
        send_pcm: SendPcm,
        worker_of: WorkerOf,
    ) -> None:
        self._db = db
        self._settings = settings
        self._send_command = send_command
        self._send_pcm = send_pcm
        self._worker_of = worker_of
        self.watches: dict[str, PhoneWatch] = {}  # by the phone's leg
        self._by_monitor: dict[str, PhoneWatch] = {}
        bus.subscribe(SupervisorPhone, self._on_phone)
        bus.subscribe(MonitorLeg, self._on_monitor)

    def relay(self, leg_id: str, pcm: bytes) -> bool:
        """A frame from a worker (IPC ``L``) that belongs to a relayed phone: pass it on."""
        watch = self._by_monitor.get(leg_id)
        if watch is not None:  # the call's mix → the phone's relay port
            if not watch.local:
                self._send_pcm(watch.phone_worker, watch.leg_id, pcm)
            return True
        watch = self.watches.get(leg_id)
        if watch is None:
            return False
        if watch.mode != "listen" and not watch.local:  # the supervisor's voice, when heard
            self._send_pcm(watch.call_worker, watch.monitor_id, pcm)
        return True

    # -- the phone's life -------------------------------------------------------------------
    async def _on_phone(self, event: SupervisorPhone) -> None:
        if event.state == "dialled":
            await self._dialled(event)
        elif event.state == "key":
            await self._key(event)
        elif event.state == "ended":
            await self._ended(event)

    async def _dialled(self, event: SupervisorPhone) -> None:
        code = FEATURE_CODE.match(event.dialed)
        if code is None:
            return
        mode, extension = MODE_OF_CODE[code[1]], code[2]
        try:
            user, call_id = await asyncio.to_thread(self._resolve, event.caller, extension, mode)
            call_worker = self._worker_of(call_id)
            if call_worker is None:
                raise Refused(404, "the agent's call has just ended")
        except Refused as exc:
            await self._command(
                event.worker,
                "supervisor_reject",
                leg_id=event.leg_id,
                status=exc.status,
                reason=str(exc),
            )
            return
        monitor_id = uuid.uuid4().hex
        watch = PhoneWatch(
            event.leg_id, event.worker, user.id, call_id, call_worker, monitor_id, mode
        )
        self.watches[watch.leg_id] = watch
        self._by_monitor[watch.monitor_id] = watch
        if not watch.local:  # the call's worker hosts a monitor port whose audio we carry
            await self._command(
                call_worker, "monitor_join", call_id=call_id, leg_id=watch.monitor_id, mode=mode
            )
        await self._command(
            event.worker,
            "supervisor_accept",
            leg_id=watch.leg_id,
            call_id=call_id,
            monitor_id=watch.monitor_id,
            mode=mode,
            local=watch.local,
        )
        where = "same worker" if watch.local else "relayed"
        log.info("supervisor %d on call %s by phone (%s, %s)", user.id, call_id, mode, where)
        await self._audit(watch, "call.monitor", {"mode": mode})

    async def _key(self, event: SupervisorPhone) -> None:
        watch = self.watches.get(event.leg_id)
        mode = MODE_OF_KEY.get(event.digit)
        if watch is None or mode is None or mode == watch.mode:
            return
        refusal = await asyncio.to_thread(self._refusal, watch.user_id, watch.call_id, mode)
        if refusal is not None:
            log.info("supervisor %d: %s", watch.user_id, refusal)
            return
        watch.mode = mode
        await self._command(
            watch.call_worker,
            "monitor_mode",
            call_id=watch.call_id,
            leg_id=watch.monitor_id,
            mode=mode,
        )
        await self._audit(watch, "call.monitor", {"mode": mode})

    async def _ended(self, event: SupervisorPhone) -> None:
        watch = self.watches.pop(event.leg_id, None)
        if watch is None:
            return
        self._by_monitor.pop(watch.monitor_id, None)
        if not watch.local:  # the phone's own worker already left a local call
            await self._command(
                watch.call_worker, "monitor_leave", call_id=watch.call_id, leg_id=watch.monitor_id
            )
        seconds = round(time.monotonic() - watch.started, 1)
        await self._audit(watch, "call.monitor.end", {"seconds": seconds, "modes": watch.modes})

    async def _on_monitor(self, event: MonitorLeg) -> None:
        """The call ended under the supervisor (or could not be joined): hang up their phone."""
        watch = self._by_monitor.get(event.leg_id)
        if watch is None or event.state not in ("left", "failed"):
            return
        await self._command(watch.phone_worker, "hangup", call_id=watch.leg_id)

    async def _command(self, worker: int, name: str, **fields: Any) -> None:
        if not await self._send_command(worker, {"command": name} | fields):
            log.warning("media worker %d is gone; %s not sent", worker, name)

    # -- who may ---------------------------------------------------------------------------
    def _resolve(self, caller: str, extension: str, mode: str) -> tuple[User, str]:
        with self._db.session() as session:
            user = _phone_owner(session, caller)
            if user is None:
                raise Refused(403, "this phone is not a supervisor's")
            if user.role not in MONITOR_MODES[mode]:
                raise Refused(403, f"your role may not {mode}")
            agent = session.scalars(
                select(AgentProfile).where(AgentProfile.extension == extension)
            ).first()
            if agent is None:
                raise Refused(404, "no agent has that extension")
            if agent.current_call_id is None:
                raise Refused(404, "the agent is not on a call")
            refusal = monitor_refusal(session, user, agent.current_call_id, mode, self._settings)
            if refusal is not None:
                raise Refused(403, refusal)
            session.expunge(user)
            return user, agent.current_call_id

    def _refusal(self, user_id: int, call_id: str, mode: str) -> str | None:
        with self._db.session() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                return "no such user"
            return monitor_refusal(session, user, call_id, mode, self._settings)

    async def _audit(self, watch: PhoneWatch, action: str, detail: dict[str, Any]) -> None:
        if action == "call.monitor":
            watch.modes.append(str(detail["mode"]))

        def write() -> None:
            with self._db.session() as session:
                user = session.get(User, watch.user_id)
                where = {"via": "sip", "path": "same-worker" if watch.local else "relayed"}
                record_audit(session, user, action, "call", watch.call_id, detail | where)

        await asyncio.to_thread(write)


def _phone_owner(session: Session, caller: str) -> User | None:
    """The staff member whose phone this is (their profile's extension or phone URI), if they
    are active and of a role that may listen at all."""
    if not PHONE_NUMBER.match(caller):
        return None
    row = session.execute(
        select(User)
        .join(AgentProfile, AgentProfile.user_id == User.id)
        .where(
            User.active,
            User.role.in_(MONITOR_MODES["listen"]),
            or_(AgentProfile.extension == caller, AgentProfile.phone_uri.like(f"sip:{caller}@%")),
        )
    ).first()
    return row[0] if row is not None else None
