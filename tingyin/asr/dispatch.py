"""The hub's ASR dispatcher: which leg is transcribed live where, and what is filled post-call.

Policy when there is not enough CPU (``max_live_legs``, or a worker lagging by more than
``max_lag_ms``): caller legs come first. A new caller leg may push out a live non-caller leg;
a lagging worker sheds its non-caller legs first, then its newest caller leg. A shed, refused
or broken leg is published as ``pending`` with an ``AsrOverloaded`` warning, and when its call
ends it is transcribed again from the recording, one job at a time, so nothing is lost and
nothing falls behind for ever.

Legs are the recording's channels: ``caller`` (left) and ``system`` (right: our prompts and
music, and the agent once one is bridged). Utterances of the right channel spoken while an agent
was on the call are published as leg ``agent`` (``asr.speakers``); the channel's status events
keep the name ``system``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tingyin.asr.link import AsrPeer, command, leg_key, pack_leg_audio, split_key
from tingyin.asr.speakers import AgentSpans
from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AsrOverloaded,
    CallEnded,
    CallFailed,
    CallRecordingStarted,
    Event,
    IvrStep,
    TranscriptLegStatus,
    WorkerExited,
)

log = logging.getLogger(__name__)

LEGS = ("caller", "system")  # the recording's left and right channels
AUDIO_RATE = 8000  # samples per second of the recordings (and of the streams' offsets)
STUCK_AFTER_S = 5.0
MAX_JOB_ATTEMPTS = 3


@dataclass
class LiveLeg:
    key: str
    peer: AsrPeer
    caller_first: bool
    started: float = field(default_factory=time.monotonic)


@dataclass
class CallState:
    legs: dict[str, str] = field(default_factory=dict)  # leg → live | pending | complete
    recording: Path | None = None
    admitted: bool = False
    ended: bool = False
    heard: int = 0  # samples of the recording streamed so far
    agents: AgentSpans = field(default_factory=AgentSpans)


@dataclass
class Counters:
    shed: int = 0
    refused: int = 0
    post_done: int = 0
    post_failed: int = 0
    worker_losses: int = 0


class AsrDispatcher:
    def __init__(self, bus: EventBus, recordings_dir: Path, capacity: int, max_lag_ms: int):
        self.bus = bus
        self.recordings_dir = recordings_dir
        self.capacity = capacity
        self.max_lag_ms = max_lag_ms
        self.peers: dict[int, AsrPeer] = {}
        self.live: dict[str, LiveLeg] = {}
        self.calls: dict[str, CallState] = {}
        self.jobs: deque[tuple[str, int]] = deque()  # (key, attempt)
        self.job_running: tuple[str, int, AsrPeer] | None = None
        self.last_status: dict[int, float] = {}
        self.lag_ms: dict[int, dict[str, float]] = {}
        self.counters = Counters()
        bus.subscribe(CallRecordingStarted, self._recording_started)
        bus.subscribe(CallEnded, self._call_ended)
        bus.subscribe(CallFailed, self._call_ended)
        bus.subscribe(WorkerExited, self._worker_exited)
        # While a caller walks the IVR, our side is only our own prompts and music: its leg is
        # fed silence (cheap for Vosk) until an agent is bridged, leaving the cores to callers.
        self.prompts_only: set[str] = set()
        bus.subscribe(IvrStep, self._in_ivr)
        bus.subscribe(AgentLeg, self._agent_leg)

    # -- audio ----------------------------------------------------------------------------
    def on_audio(self, call_id: str, offset: int, left: bytes, right: bytes) -> None:
        """Every streamed frame of every call, on the event loop (from the media IPC)."""
        state = self.calls.get(call_id)
        if state is None:
            state = self.calls[call_id] = CallState()
        if not state.admitted:
            state.admitted = True
            self._admit(call_id, state)
        state.heard = max(state.heard, offset + len(left) // 2)
        if call_id in self.prompts_only:
            right = bytes(len(right))
        for leg, pcm in zip(LEGS, (left, right), strict=True):
            live = self.live.get(leg_key(call_id, leg))
            if live is not None and not live.peer.send(pack_leg_audio(live.key, offset, pcm)):
                self._shed(live, "its ASR worker is not keeping up")

    def _admit(self, call_id: str, state: CallState) -> None:
        for leg in LEGS:
            key = leg_key(call_id, leg)
            if len(self.live) >= self.capacity and leg == "caller":
                victim = self._newest(lambda live: not live.caller_first)
                if victim is not None:
                    self._shed(victim, "made room for a caller leg")
            peer = self._least_loaded()
            if peer is None or len(self.live) >= self.capacity:
                state.legs[leg] = "pending"
                self.counters.refused += 1
                reason = "no ASR worker" if peer is None else "live capacity reached"
                self._overloaded(key, reason)
                continue
            self.live[key] = LiveLeg(key, peer, caller_first=leg == "caller")
            state.legs[leg] = "live"
            peer.send(command({"op": "open", "key": key}))
            self.bus.publish(TranscriptLegStatus(call_id=call_id, leg=leg, status="live"))

    def _least_loaded(self) -> AsrPeer | None:
        peers = [p for p in self.peers.values() if not p.broken]
        if not peers:
            return None
        load = {p.index: 0 for p in peers}
        for live in self.live.values():
            load[live.peer.index] = load.get(live.peer.index, 0) + 1
        return min(peers, key=lambda p: load[p.index])

    def _newest(self, which: Any, peer: AsrPeer | None = None) -> LiveLeg | None:
        candidates = [
            live
            for live in self.live.values()
            if which(live) and (peer is None or live.peer is peer)
        ]
        return max(candidates, key=lambda live: live.started, default=None)

    def _shed(self, live: LiveLeg, reason: str) -> None:
        self.live.pop(live.key, None)
        live.peer.send(command({"op": "close", "key": live.key}))
        self.counters.shed += 1
        self._mark_pending(live.key, reason)
        self._overloaded(live.key, reason)

    def _overloaded(self, key: str, reason: str) -> None:
        call_id, leg = split_key(key)
        log.warning(
            "ASR overloaded: %s leg of call %s goes to post-call (%s)", leg, call_id, reason
        )
        self.bus.publish(
            AsrOverloaded(
                call_id=call_id,
                leg=leg,
                live_legs=len(self.live),
                capacity=self.capacity,
                reason=reason,
            )
        )
        self.bus.publish(
            TranscriptLegStatus(call_id=call_id, leg=leg, status="pending", reason=reason)
        )

    def _mark_pending(self, key: str, reason: str) -> None:
        call_id, leg = split_key(key)
        state = self.calls.get(call_id)
        if state is None:
            return
        state.legs[leg] = "pending"
        if state.ended:
            self._queue_job(key)

    # -- calls ending ---------------------------------------------------------------------
    async def _recording_started(self, event: CallRecordingStarted) -> None:
        state = self.calls.setdefault(event.call_id, CallState())
        state.recording = self.recordings_dir / event.path

    async def _in_ivr(self, event: IvrStep) -> None:
        self.prompts_only.add(event.call_id)

    async def _agent_leg(self, event: AgentLeg) -> None:
        if event.state == "answered":
            self.prompts_only.discard(event.call_id)
        state = self.calls.get(event.call_id)
        if state is None or state.ended:  # (a leg hung up with its call reports after it)
            return
        if event.state == "answered":
            state.agents.answered(state.heard / AUDIO_RATE)
        elif event.state == "ended":
            state.agents.left(state.heard / AUDIO_RATE)
            if event.reason == "transferred":  # hold music until the next agent: not transcribed
                self.prompts_only.add(event.call_id)

    async def _call_ended(self, event: CallEnded | CallFailed) -> None:
        self.prompts_only.discard(event.call_id)
        state = self.calls.get(event.call_id)
        if state is None:
            return
        state.ended = True
        state.agents.left(state.heard / AUDIO_RATE)
        if isinstance(event, CallEnded) and event.recording_path:
            state.recording = self.recordings_dir / event.recording_path
        for leg in LEGS:
            key = leg_key(event.call_id, leg)
            live = self.live.get(key)
            if live is not None:
                # Audio before this event is already on its way: closing ends the leg there.
                live.peer.send(command({"op": "close", "key": key}))
            elif state.legs.get(leg, "pending") == "pending" and state.recording is not None:
                self._queue_job(key)  # shed, refused, broken, or never streamed at all
        self._start_job()
        self._forget_if_done(event.call_id)

    async def _worker_exited(self, event: WorkerExited) -> None:
        for call_id in event.active_calls:
            state = self.calls.get(call_id)
            if state is not None and not state.ended:
                await self._call_ended(CallFailed(call_id=call_id, reason="media worker died"))

    # -- from the ASR workers -------------------------------------------------------------
    def on_connect(self, peer: AsrPeer) -> None:
        log.info("ASR worker %d (pid %d) connected", peer.index, peer.pid)
        self.peers[peer.index] = peer
        self.last_status[peer.index] = time.monotonic()
        self._start_job()

    def on_disconnect(self, peer: AsrPeer) -> None:
        if self.peers.get(peer.index) is peer:
            del self.peers[peer.index]
        lost = [live for live in self.live.values() if live.peer is peer]
        if lost or (self.job_running and self.job_running[2] is peer):
            log.error("ASR worker %d lost with %d live leg(s)", peer.index, len(lost))
            self.counters.worker_losses += 1
        for live in lost:
            self.live.pop(live.key, None)
            self._mark_pending(live.key, "its ASR worker died")
            call_id, leg = split_key(live.key)
            self.bus.publish(
                TranscriptLegStatus(
                    call_id=call_id, leg=leg, status="pending", reason="ASR worker died"
                )
            )
        if self.job_running is not None and self.job_running[2] is peer:
            key, attempt, _ = self.job_running
            self.job_running = None
            if attempt < MAX_JOB_ATTEMPTS:
                self.jobs.append((key, attempt + 1))
        self._start_job()

    def on_event(self, _peer: AsrPeer, event: Event) -> None:
        state = self.calls.get(getattr(event, "call_id", ""))
        self.bus.publish(state.agents.label(event) if state is not None else event)

    def on_status(self, peer: AsrPeer, body: dict[str, Any]) -> None:
        self.last_status[peer.index] = time.monotonic()
        kind = body.get("type")
        if kind == "load":
            lags = {str(k): float(v) for k, v in dict(body.get("lag_ms", {})).items()}
            self.lag_ms[peer.index] = lags
            if lags and max(lags.values()) > self.max_lag_ms:
                self._relieve(peer)
        elif kind == "leg_done":
            self._leg_done(str(body["key"]), body)
        elif kind == "job_done":
            self._job_done(str(body["key"]), bool(body.get("ok")), str(body.get("error", "")))

    def _relieve(self, peer: AsrPeer) -> None:
        victim = self._newest(lambda live: not live.caller_first, peer) or self._newest(
            lambda live: True, peer
        )
        if victim is not None:
            self._shed(victim, f"live lag over {self.max_lag_ms} ms")

    def _leg_done(self, key: str, report: dict[str, Any]) -> None:
        if self.live.pop(key, None) is None:
            return  # shed or lost earlier: already pending
        call_id, leg = split_key(key)
        state = self.calls.get(call_id)
        whole = not report.get("gaps") and not report.get("dropped")
        if state is not None:
            state.legs[leg] = "complete" if whole else "pending"
        if whole:
            self.bus.publish(TranscriptLegStatus(call_id=call_id, leg=leg, status="complete"))
        else:
            reason = f"{report.get('gaps', 0)} gap(s), {report.get('dropped', 0)} dropped chunk(s)"
            self._mark_pending(key, reason)
            self.bus.publish(
                TranscriptLegStatus(call_id=call_id, leg=leg, status="pending", reason=reason)
            )
        self._forget_if_done(call_id)

    # -- post-call jobs -------------------------------------------------------------------
    def _queue_job(self, key: str) -> None:
        if all(queued != key for queued, _ in self.jobs):
            self.jobs.append((key, 1))
        self._start_job()

    def _start_job(self) -> None:
        while self.job_running is None and self.jobs:
            peer = self._least_loaded()
            if peer is None:
                return
            key, attempt = self.jobs.popleft()
            call_id, leg = split_key(key)
            state = self.calls.get(call_id)
            if state is None or state.recording is None:
                self._job_failed(key, "no recording")
                continue
            self.job_running = (key, attempt, peer)
            self.bus.publish(
                TranscriptLegStatus(call_id=call_id, leg=leg, status="transcribing", source="post")
            )
            peer.send(command({"op": "file", "key": key, "path": str(state.recording)}))

    def _job_done(self, key: str, ok: bool, error: str) -> None:
        if self.job_running is not None and self.job_running[0] == key:
            self.job_running = None
        call_id, leg = split_key(key)
        if ok:
            self.counters.post_done += 1
            state = self.calls.get(call_id)
            if state is not None:
                state.legs[leg] = "complete"
            self.bus.publish(
                TranscriptLegStatus(call_id=call_id, leg=leg, status="complete", source="post")
            )
        else:
            self._job_failed(key, error)
        self._forget_if_done(call_id)
        self._start_job()

    def _job_failed(self, key: str, error: str) -> None:
        call_id, leg = split_key(key)
        self.counters.post_failed += 1
        log.error("post-call transcription of %s leg of %s failed: %s", leg, call_id, error)
        self.bus.publish(
            TranscriptLegStatus(
                call_id=call_id, leg=leg, status="failed", source="post", reason=error
            )
        )

    def _forget_if_done(self, call_id: str) -> None:
        state = self.calls.get(call_id)
        if state is None or not state.ended:
            return
        if any(leg_key(call_id, leg) in self.live for leg in LEGS):
            return
        if any(split_key(key)[0] == call_id for key, _ in self.jobs):
            return
        if self.job_running is not None and split_key(self.job_running[0])[0] == call_id:
            return
        del self.calls[call_id]

    # -- watchdog and figures -------------------------------------------------------------
    def check_stuck(self) -> None:
        """Kill a worker that stopped reporting while it has work (its host forks another)."""
        now = time.monotonic()
        for peer in list(self.peers.values()):
            busy = any(live.peer is peer for live in self.live.values())
            silent = now - self.last_status.get(peer.index, now)
            if busy and silent > STUCK_AFTER_S:
                log.error("ASR worker %d silent for %.0f s; killing it", peer.index, silent)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(peer.pid, signal.SIGKILL)
                self.last_status[peer.index] = now

    def status(self) -> dict[str, object]:
        lags = [lag for per in self.lag_ms.values() for lag in per.values()]
        legs_of = {index: 0 for index in self.peers}
        for live in self.live.values():
            legs_of[live.peer.index] = legs_of.get(live.peer.index, 0) + 1
        return {
            "workers": len(self.peers),
            "peers": [
                {"index": p.index, "pid": p.pid, "live_legs": legs_of.get(p.index, 0)}
                for p in self.peers.values()
            ],
            "capacity": self.capacity,
            "live_legs": len(self.live),
            "max_lag_ms": max(lags, default=0.0),
            "post_call_queue": len(self.jobs) + (self.job_running is not None),
            "overloaded": self.counters.shed + self.counters.refused > 0
            and len(self.live) >= self.capacity,
            "shed_legs": self.counters.shed,
            "refused_legs": self.counters.refused,
            "post_call_done": self.counters.post_done,
            "post_call_failed": self.counters.post_failed,
            "worker_losses": self.counters.worker_losses,
        }
