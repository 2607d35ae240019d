"""Browser softphones in the hub: one WebRTC connection per agent, patched into their calls.

An agent whose phone is ``browser`` opens the desk page; its softphone connects once (like a
headset plugged in) and stays up between calls. When the ACD offers them a call the customer's
worker creates a browser leg (``telephony.browser_leg``) and reports it ringing (``AgentLeg``);
the page rings; ``answer`` tells the worker to bridge. From then on microphone frames go to
that worker for that leg (IPC ``P``) and the leg's frames come back into the agent's ear
(IPC ``L``). Mute stops the microphone here; hold and DTMF are worker commands. Only agents
with a live softphone are offered calls (``ReachableAgents``).

A page reloaded (or a network blip) in the middle of a call must not cost the customer: when
the softphone of an agent who is talking goes away, the customer is put on hold (music) and the
call waits ``reconnect_seconds`` for the same agent's next softphone, which takes the call over
where it was (taken off hold again). Only then is the agent's leg dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    ConsultLeg,
    MonitorLeg,
    OutboundRequested,
)
from tingyin.softphone.peer import SoftphonePeer
from tingyin.telephony.acd import AgentDirectory, Offerable, QueueRules
from tingyin.telephony.browser_leg import is_browser_uri

log = logging.getLogger(__name__)

SendCommand = Callable[[int, dict[str, Any]], Awaitable[bool]]
SendPcm = Callable[[int, str, bytes], bool]
WorkerOf = Callable[[str], int | None]
ToPage = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Session:
    agent_id: int
    peer: SoftphonePeer
    to_page: ToPage
    # idle | ringing | dialling (their own call out) | talking | held | monitoring (a
    # supervisor on someone's call, ``mode`` listen | whisper | barge)
    state: str = "idle"
    mode: str = ""
    call_id: str | None = None
    leg_id: str | None = None
    worker: int | None = None
    muted: bool = False
    mic_sent: int = 0
    ear_frames: int = 0
    held_for_reconnect: bool = False  # we put the customer on hold when the page went away

    def view(self) -> dict[str, Any]:
        return {"type": "state", "state": self.state, "call_id": self.call_id,
                "muted": self.muted, "mode": self.mode}  # fmt: skip


class SoftphoneError(Exception):
    pass


class SoftphoneService:
    def __init__(
        self,
        bus: EventBus,
        send_command: SendCommand,
        send_pcm: SendPcm,
        worker_of: WorkerOf,
        *,
        hold_music: Callable[[], Path] | None = None,
        codec: str = "PCMU",
        jitter_frames: int = 2,
        reconnect_seconds: float = 15.0,
    ) -> None:
        self._send_command = send_command
        self._send_pcm = send_pcm
        self._worker_of = worker_of
        self._hold_music = hold_music
        self.codec = codec
        self.jitter_frames = jitter_frames
        self.reconnect_seconds = reconnect_seconds
        self.sessions: dict[int, Session] = {}
        # Calls whose agent's page went away mid-call, waiting for it to come back.
        self._orphans: dict[int, tuple[Session, asyncio.TimerHandle]] = {}
        self._by_leg: dict[str, Session] = {}
        self._outbound: set[str] = set()  # calls agents placed themselves: their legs "dial"
        bus.subscribe(AgentLeg, self._on_leg)
        bus.subscribe(ConsultLeg, self._on_leg)  # a colleague consulted rings and talks alike
        bus.subscribe(OutboundRequested, self._on_outbound)
        bus.subscribe(MonitorLeg, self._on_monitor)

    def connected(self, agent_id: int) -> bool:
        return agent_id in self.sessions

    async def open(self, agent_id: int, offer_sdp: str, to_page: ToPage) -> tuple[Session, str]:
        """A page's softphone connects; a second page of the same agent replaces the first."""
        old = self.sessions.get(agent_id)
        if old is not None:
            await self.close(old)
        session: Session | None = self._adopt(agent_id)

        def on_mic(pcm: bytes) -> None:
            if session is not None:
                self._mic(session, pcm)

        peer = SoftphonePeer(on_mic, codec=self.codec, jitter_frames=self.jitter_frames)
        try:
            answer = await peer.accept(offer_sdp)
        except Exception as exc:  # a malformed or unacceptable SDP offer
            await peer.close()
            if session is not None:  # the call waits on for a page that can connect
                self._orphan(session)
            raise SoftphoneError(f"the browser's offer was not accepted: {exc}") from None
        if session is None:
            session = Session(agent_id, peer, to_page)
        else:  # the same agent's page is back: it takes the call over
            session.peer, session.to_page = peer, to_page
            log.info("softphone of agent %d reconnected to call %s", agent_id, session.call_id)
            if session.held_for_reconnect:
                session.held_for_reconnect = False
                with contextlib.suppress(SoftphoneError):
                    await self._command(session, "hold", on=False, music="")
        self.sessions[agent_id] = session
        log.info("softphone of agent %d connected", agent_id)
        return session, answer

    async def close(self, session: Session) -> None:
        """The page went away: a ringing offer is declined, a call in progress loses its agent."""
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]
        if session.state == "monitoring":
            await self._command(session, "monitor_leave")
        elif session.state in ("talking", "held") and self.reconnect_seconds > 0:
            await session.peer.close()
            if session.state == "talking":  # music, not dead air, while the agent is away
                session.held_for_reconnect = True
                music = str(self._hold_music()) if self._hold_music is not None else ""
                with contextlib.suppress(SoftphoneError):
                    await self._command(session, "hold", on=True, music=music)
            self._orphan(session)
            log.info("softphone of agent %d closed mid-call; waiting %.0f s for it",
                     session.agent_id, self.reconnect_seconds)  # fmt: skip
            return
        elif session.state != "idle":
            await self.hangup(session)
        self._forget_leg(session)
        await session.peer.close()
        log.info("softphone of agent %d closed", session.agent_id)

    def _orphan(self, session: Session) -> None:
        timer = asyncio.get_running_loop().call_later(
            self.reconnect_seconds, lambda: asyncio.ensure_future(self._give_up(session))
        )
        self._orphans[session.agent_id] = (session, timer)

    def _adopt(self, agent_id: int) -> Session | None:
        """The call an agent's page left behind, if it still waits."""
        orphan = self._orphans.pop(agent_id, None)
        if orphan is None:
            return None
        session, timer = orphan
        timer.cancel()
        return session if session.state in ("talking", "held") else None

    async def _give_up(self, session: Session) -> None:
        if self._orphans.get(session.agent_id, (None,))[0] is not session:
            return  # taken over meanwhile
        del self._orphans[session.agent_id]
        log.info("softphone of agent %d did not come back; leaving call %s",
                 session.agent_id, session.call_id)  # fmt: skip
        if session.state in ("talking", "held"):
            with contextlib.suppress(SoftphoneError):
                await self._command(session, "drop_agent")
        self._forget_leg(session)

    # -- the page's buttons -------------------------------------------------------------------
    async def answer(self, session: Session) -> None:
        if session.state != "ringing":
            raise SoftphoneError("nothing is ringing")
        await self._command(session, "answer_browser")

    async def hangup(self, session: Session) -> None:
        if session.state == "idle":
            raise SoftphoneError("no call")
        if session.state == "monitoring":
            await self._command(session, "monitor_leave")
            return
        await self._command(session, "drop_agent")

    async def monitor(self, session: Session, call_id: str, mode: str) -> None:
        """Join someone's call (listen, whisper to the agent, or barge in), or change mode."""
        if session.state == "monitoring" and session.call_id == call_id:
            await self._command(session, "monitor_mode", mode=mode)
            return
        if session.state != "idle":
            raise SoftphoneError("leave the call you are on first")
        worker = self._worker_of(call_id)
        if worker is None:
            raise SoftphoneError("no such call in progress")
        monitor_id = uuid.uuid4().hex
        session.state, session.mode = "monitoring", mode
        session.call_id, session.leg_id, session.worker = call_id, monitor_id, worker
        self._by_leg[monitor_id] = session
        session.peer.ear.buffer.clear()
        await self._command(session, "monitor_join", mode=mode)

    async def mute(self, session: Session, on: bool) -> None:
        session.muted = on
        await session.to_page(session.view())

    async def hold(self, session: Session, on: bool) -> None:
        if session.state not in ("talking", "held"):
            raise SoftphoneError("no call to hold")
        music = str(self._hold_music()) if self._hold_music is not None and on else ""
        await self._command(session, "hold", on=on, music=music)

    async def dtmf(self, session: Session, digits: str) -> None:
        if session.state not in ("talking", "held"):
            raise SoftphoneError("no call")
        await self._command(session, "dtmf", digits=digits)

    # -- audio --------------------------------------------------------------------------------
    def ear(self, leg_id: str, pcm: bytes) -> None:
        """A frame of what the agent on ``leg_id`` hears (from the IPC listener)."""
        session = self._by_leg.get(leg_id)
        if session is not None:
            session.ear_frames += 1
            session.peer.ear.push(pcm)

    def _mic(self, session: Session, pcm: bytes) -> None:
        speaking = session.state == "talking" or (
            session.state == "monitoring" and session.mode in ("whisper", "barge")
        )
        if not speaking or session.muted or session.worker is None:
            return
        if session.leg_id is not None and self._send_pcm(session.worker, session.leg_id, pcm):
            session.mic_sent += 1

    # -- the legs' lives ----------------------------------------------------------------------
    async def _on_outbound(self, event: OutboundRequested) -> None:
        self._outbound.add(event.call_id)

    async def _on_leg(self, event: AgentLeg | ConsultLeg) -> None:
        session = self._by_leg.get(event.leg_id) or self.sessions.get(event.agent_id)
        if session is None:
            return
        if event.state == "ringing":
            if session.state != "idle":
                return  # one call at a time; the ACD does not offer a busy agent
            state = "dialling" if event.call_id in self._outbound else "ringing"
            session.state, session.call_id, session.leg_id = state, event.call_id, event.leg_id
            session.worker = self._worker_of(event.call_id)
            self._by_leg[event.leg_id] = session
            session.peer.ear.buffer.clear()
        elif session.leg_id != event.leg_id:
            return
        elif event.state in ("answered", "resumed"):
            session.state = "talking"
        elif event.state == "held":
            session.state = "held"
        elif event.state in ("ended", "failed"):
            self._outbound.discard(event.call_id)
            self._forget_leg(session)
            session.state, session.call_id, session.muted = "idle", None, False
        await session.to_page(session.view() | {"reason": event.reason})

    async def _on_monitor(self, event: MonitorLeg) -> None:
        session = self._by_leg.get(event.leg_id)
        if session is None:
            return
        if event.state in ("joined", "mode"):
            session.mode = event.mode
        elif event.state in ("left", "failed"):
            self._forget_leg(session)
            session.state, session.call_id, session.mode = "idle", None, ""
        await session.to_page(session.view() | {"reason": event.reason})

    def _forget_leg(self, session: Session) -> None:
        if session.leg_id is not None:
            self._by_leg.pop(session.leg_id, None)
        session.leg_id = session.worker = None

    async def _command(self, session: Session, name: str, **extra: Any) -> None:
        if session.worker is None or session.call_id is None:
            raise SoftphoneError("no call")
        command = {"command": name, "call_id": session.call_id, "leg_id": session.leg_id} | extra
        if not await self._send_command(session.worker, command):
            raise SoftphoneError("the call's media worker is gone")


class ReachableAgents:
    """The ACD's directory, less browser agents whose softphone is not connected."""

    def __init__(self, inner: AgentDirectory, softphones: SoftphoneService) -> None:
        self.inner = inner
        self.softphones = softphones

    def ready(self, rules: QueueRules) -> list[Offerable]:
        return [
            agent
            for agent in self.inner.ready(rules)
            if not is_browser_uri(agent.phone_uri) or self.softphones.connected(agent.agent_id)
        ]

    # The rest is the store's business, unchanged.
    def ringing(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self.inner.ringing(agent_id, call_id)

    def talking(self, agent_id: int, call_id: str) -> AgentStateChanged | None:
        return self.inner.talking(agent_id, call_id)

    def missed(self, agent_id: int) -> AgentStateChanged | None:
        return self.inner.missed(agent_id)

    def back_to_ready(self, agent_id: int) -> AgentStateChanged | None:
        return self.inner.back_to_ready(agent_id)

    def wrap_up(self, agent_id: int) -> AgentStateChanged | None:
        return self.inner.wrap_up(agent_id)

    def wrap_up_over(self, agent_id: int) -> AgentStateChanged | None:
        return self.inner.wrap_up_over(agent_id)

    def urgent_ticket(self, ticket_numbers: tuple[str, ...]) -> bool:
        return self.inner.urgent_ticket(ticket_numbers)
