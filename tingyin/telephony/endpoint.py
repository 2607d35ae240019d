"""One pjsua2 endpoint holding at most 4 calls: answer, greet, tap, record, report.

Threading (PJSUA2_NOTES): ``threadCnt = 0`` and ``mainThreadOnly``: every SIP callback runs on
the thread that calls ``run()``. Media taps run on the conference clock thread. Nothing here
touches a database or an event loop: events go to ``publish`` (the IPC link's queue).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pjsua2 as pj

from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallRecordingStarted,
    CallRinging,
    DtmfReceived,
    Event,
    utcnow,
)
from tingyin.privacy import mask_number, number_from_uri
from tingyin.telephony.agent_legs import AgentLegs
from tingyin.telephony.browser_leg import BrowserCall, BrowserLegs, BrowserPort
from tingyin.telephony.call_recorder import AudioSink, CallRecorder
from tingyin.telephony.hub_commands import HubCommands
from tingyin.telephony.media import FrameTap, fast_read_works
from tingyin.telephony.monitor_legs import MonitorLegs
from tingyin.telephony.supervisor_phones import SupervisorPhones, is_feature_code
from tingyin.telephony.worker_commands import run_command

log = logging.getLogger(__name__)

MAX_CALLS = 4  # compiled into the pjsua2 wheel (PJSUA_MAX_CALLS)
CLOCK_RATE = 8000


@dataclass(frozen=True)
class WorkerConfig:
    index: int
    sip_host: str
    sip_port: int
    rtp_port: int
    rtp_port_count: int
    recordings_dir: Path
    greeting_wav: Path | None
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    transports: tuple[str, ...] = ("udp", "tcp")
    max_call_seconds: int = 3600
    answer_delay_ms: int = 0  # ring this long before answering (the screen pop's head start)
    stream_all: bool = False  # send every call's audio to the hub (live transcription)


@dataclass
class ActiveCall:
    call_id: str
    call: WorkerCall
    started: float = field(default_factory=time.monotonic)
    answered: bool = False
    answer_at: float | None = None  # monotonic time of the delayed 200 OK, while ringing
    media_ready: bool = False
    caller_tap: FrameTap | None = None
    other_tap: FrameTap | None = None
    player: pj.AudioMediaPlayer | None = None
    hold_player: pj.AudioMediaPlayer | None = None  # music while the agent holds the customer
    held: bool = False
    recorder: CallRecorder | None = None
    ended: bool = False
    direction: str = "inbound"
    audio: pj.AudioMedia | None = None
    # The prompt the hub asked for (outbound calls, IVR): its id, when it runs out, and whether
    # a digit cuts it off. A prompt asked for before the media is up waits in ``pending_prompt``.
    prompt_id: str | None = None
    prompt_ends: float = 0.0
    prompt_barge: bool = True
    pending_prompt: dict[str, Any] | None = None
    # Agent legs (``telephony.agent_legs``): on a customer's call, the leg ringing or talking to
    # an agent; on that leg, the customer's call it belongs to.
    agent_leg: str | None = None
    parent: str | None = None
    agent_id: int = 0
    ring_deadline: float = 0.0
    bridged: bool = False
    end_reason: str = ""
    party: bool = False  # a third party's leg (3-way), not an agent's
    party_legs: list[str] = field(default_factory=list)  # on a customer's call
    owned: bool = False  # an agent's own call out: it ends when the agent's leg ends
    # Attended transfer (``telephony.consult_legs``): on a customer's call, the colleague's leg
    # being consulted; on that leg, ``consult`` until it is handed the customer.
    consult_leg: str | None = None
    consult: bool = False
    handed_on: bool = False  # an agent leg an attended transfer replaced (its end told already)
    outside: bool = False  # a party leg a blind transfer handed the customer to: ends the call
    # A supervisor's SIP phone that dialled a feature code (``telephony.supervisor_phones``):
    # what the hub told it to watch, and its relay port when that call is on another worker.
    supervisor: bool = False
    watch: dict[str, Any] | None = None
    relay: BrowserPort | None = None
    # The caller stream's jitter buffer at its end: frames it lost, discarded, or played empty.
    # Each can shift the caller's audio by a frame; tests use them to explain such shifts.
    jitter: tuple[int, int, int] = (0, 0, 0)


class WorkerCall(pj.Call):  # type: ignore[misc]
    def __init__(
        self, worker: MediaWorker, account: pj.Account, call_id: int, tingyin_id: str = ""
    ) -> None:
        super().__init__(account, call_id)
        self.worker = worker
        self.tingyin_id = tingyin_id or uuid.uuid4().hex

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        self.worker.guard(self.worker.on_call_state, self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        self.worker.guard(self.worker.on_media_state, self)

    def onStreamDestroyed(self, prm: pj.OnStreamDestroyedParam) -> None:
        self.worker.guard(self.worker.on_stream_destroyed, self, int(prm.streamIdx))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.worker.guard(self.worker.on_dtmf, self, str(prm.digit))


class WorkerAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, worker: MediaWorker) -> None:
        super().__init__()
        self.worker = worker

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.worker.guard(self.worker.on_incoming, self, prm.callId)


class MediaWorker:
    def __init__(
        self,
        config: WorkerConfig,
        publish: Callable[[Event], None],
        send_audio: Callable[[str, int, bytes, bytes], None] | None = None,
        send_leg_audio: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.config = config
        self.publish = publish
        self.send_audio = send_audio
        # Calls whose audio the hub asked for (someone listens or transcribes); others stay local.
        self.streaming: set[str] = set()
        self.calls: dict[str, ActiveCall] = {}
        self._finished: list[ActiveCall] = []
        self._lock = threading.Lock()  # guards calls between the SIP loop and the writer thread
        self._stop = threading.Event()
        self._commands: list[dict[str, Any]] = []
        self.ep = pj.Endpoint()
        self.account: WorkerAccount | None = None
        self._caller_accounts: dict[str, pj.Account] = {}
        self._fast_read = True
        self._writer = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self.legs = AgentLegs(self)
        self.browser = BrowserLegs(self, send_leg_audio, CLOCK_RATE)
        self.monitors = MonitorLegs(self, send_leg_audio, CLOCK_RATE)
        self.phones = SupervisorPhones(self, CLOCK_RATE)
        self.commands = HubCommands(self)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = MAX_CALLS
        cfg.uaConfig.userAgent = "Tingyin media worker"
        cfg.uaConfig.stunServer.clear()  # never contact a STUN server
        cfg.logConfig.level = 1
        cfg.logConfig.consoleLevel = 1
        cfg.medConfig.clockRate = CLOCK_RATE
        cfg.medConfig.sndClockRate = CLOCK_RATE
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self.ep.libInit(cfg)
        for kind in self.config.transports:
            tcfg = pj.TransportConfig()
            tcfg.port = self.config.sip_port
            tcfg.boundAddress = self.config.sip_host
            tcfg.publicAddress = self.config.sip_host
            ttype = pj.PJSIP_TRANSPORT_UDP if kind == "udp" else pj.PJSIP_TRANSPORT_TCP
            self.ep.transportCreate(ttype, tcfg)
        self.ep.audDevManager().setNullDev()
        self._set_codecs()
        self.ep.libStart()
        self._fast_read = fast_read_works()
        self.account = WorkerAccount(self)
        self.account.create(self._account_config("tingyin"))
        self._writer.start()

    def _account_config(self, user: str) -> pj.AccountConfig:
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:{user}@{self.config.sip_host}:{self.config.sip_port}"
        rtp = acfg.mediaConfig.transportConfig
        rtp.port = self.config.rtp_port
        rtp.portRange = self.config.rtp_port_count
        rtp.boundAddress = self.config.sip_host
        acfg.natConfig.iceEnabled = False
        return acfg

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def finish(self, active: ActiveCall, reason: str, status: int) -> None:
        self._finish(active, reason, status)

    def stop_prompt(self, active: ActiveCall, *, interrupted: bool) -> None:
        self._stop_prompt(active, interrupted=interrupted)

    def stop_loop(self) -> None:
        self._stop.set()

    def outbound_account(self, caller: str) -> pj.Account:
        return self._outbound_account(caller)

    def _outbound_account(self, caller: str) -> pj.Account:
        """An account per caller id, so the customer's phone shows our number in From."""
        if not caller.lstrip("+").isdigit():
            assert self.account is not None
            return self.account
        account = self._caller_accounts.get(caller)
        if account is None:
            account = WorkerAccount(self)
            account.create(self._account_config(caller))
            self._caller_accounts[caller] = account
        return account

    def run(self) -> None:
        """The SIP loop: pjsip events, hub commands, finished-call cleanup, call time limits."""
        while not self._stop.is_set():
            self.ep.libHandleEvents(10)
            self._handle_commands()
            self._reap()
            self._enforce_limits()  # also answers calls whose ring time is up

    def stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        """Order that avoids the teardown crashes (PJSUA2_NOTES, crash 2)."""
        with contextlib.suppress(pj.Error):
            self.ep.hangupAllCalls()
        deadline = time.monotonic() + 1.0
        while self.calls and time.monotonic() < deadline:
            self.ep.libHandleEvents(20)
            self._reap()
        for active in list(self.calls.values()):
            self._finish(active, "shutdown", 0)
        self._reap()
        self._stop.set()
        self._writer.join(2.0)
        for account in self._caller_accounts.values():
            account.shutdown()
        self._caller_accounts.clear()
        if self.account is not None:
            self.account.shutdown()
            self.account = None
        self.ep.libDestroy()

    def submit(self, command: dict[str, Any]) -> None:
        """Called from the IPC thread; applied on the SIP loop."""
        with self._lock:
            self._commands.append(command)

    def guard(self, fn: Callable[..., None], *args: Any) -> None:
        # pjsua2 prints and swallows callback exceptions; log them with a traceback instead.
        try:
            fn(*args)
        except Exception:
            log.exception("callback %s failed", getattr(fn, "__name__", fn))

    # -- SIP callbacks (SIP loop thread) ----------------------------------------------------
    def on_incoming(self, account: pj.Account, pj_call_id: int) -> None:
        call = WorkerCall(self, account, pj_call_id)
        info = call.getInfo()
        active = ActiveCall(call_id=call.tingyin_id, call=call)
        with self._lock:
            self.calls[call.tingyin_id] = active
        caller = number_from_uri(info.remoteUri)
        dialed = number_from_uri(info.localUri)
        if is_feature_code(dialed):
            self.phones.incoming(active, caller, dialed)
            return
        log.info("call %s from %s to %s", call.tingyin_id, mask_number(caller), mask_number(dialed))
        self.publish(
            CallRinging(
                call_id=call.tingyin_id,
                sip_call_id=info.callIdString,
                worker=self.config.index,
                caller=caller,
                dialed=dialed,
            )
        )
        delay = self.config.answer_delay_ms / 1000
        if delay > 0:
            active.answer_at = time.monotonic() + delay
        _answer(call, 180 if delay > 0 else 200)

    def on_call_state(self, call: WorkerCall) -> None:
        active = self.calls.get(call.tingyin_id)
        if active is None:
            return
        info = call.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and not active.answered:
            active.answered = True
            if active.supervisor:
                pass  # not a customer's call: nothing to report
            elif active.parent is not None:
                self.legs.answered(active)
            else:
                self.publish(CallAnswered(call_id=active.call_id, codec=self._codec(call)))
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            reason = _end_reason(info, active.answered)
            self._finish(active, reason, int(info.lastStatusCode))

    def on_stream_destroyed(self, call: WorkerCall, index: int) -> None:
        active = self.calls.get(call.tingyin_id)
        if active is None:
            return
        jbuf = call.getStreamStat(index).jbuf
        active.jitter = (int(jbuf.lost), int(jbuf.discard), int(jbuf.empty))

    def on_media_state(self, call: WorkerCall) -> None:
        active = self.calls.get(call.tingyin_id)
        if active is None or active.media_ready or active.ended:
            return
        info = call.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                if active.supervisor:
                    self.phones.media_ready(active, call.getAudioMedia(index))
                elif active.parent is not None:
                    self.legs.media_ready(active, call.getAudioMedia(index))
                else:
                    self._connect_media(active, call.getAudioMedia(index))
                return

    # -- media ------------------------------------------------------------------------------
    def _connect_media(self, active: ActiveCall, audio: pj.AudioMedia) -> None:
        active.media_ready = True
        caller_tap = FrameTap("caller", fast_read=self._fast_read)
        caller_tap.open(CLOCK_RATE, f"caller-{active.call_id[:8]}")
        other_tap = FrameTap("system", fast_read=self._fast_read)
        other_tap.open(CLOCK_RATE, f"system-{active.call_id[:8]}")
        day = utcnow().strftime("%Y/%m/%d")
        relative = Path(day) / f"{active.call_id}.wav"
        recorder = CallRecorder(
            self.config.recordings_dir / relative, caller_tap.frames, other_tap.frames, CLOCK_RATE
        )
        active.caller_tap, active.other_tap = caller_tap, other_tap
        active.audio = audio
        audio.startTransmit(caller_tap)
        if active.pending_prompt is not None:
            command, active.pending_prompt = active.pending_prompt, None
            self._play(active, command)
        elif self.config.greeting_wav is not None and active.direction == "inbound":
            player = pj.AudioMediaPlayer()
            player.createPlayer(str(self.config.greeting_wav), pj.PJMEDIA_FILE_NO_LOOP)
            player.startTransmit(audio)
            player.startTransmit(other_tap)
            active.player = player
        with self._lock:
            active.recorder = recorder
        self.publish(CallRecordingStarted(call_id=active.call_id, path=str(relative)))
        if active.agent_leg is not None:
            self.legs.customer_ready(active)

    def on_dtmf(self, call: WorkerCall, digit: str) -> None:
        active = self.calls.get(call.tingyin_id)
        if active is not None and active.supervisor:
            self.phones.key(active, digit)  # a mode switch, not a customer's key
            return
        self.publish(DtmfReceived(call_id=call.tingyin_id, digit=digit))
        if active is not None and active.prompt_id is not None and active.prompt_barge:
            self._stop_prompt(active, interrupted=True)

    # -- hub-driven calls: originate, prompts (``telephony.hub_commands``) ---------------------
    def _play(self, active: ActiveCall, command: dict[str, Any]) -> None:
        self.commands.play(active, command)

    def _stop_prompt(self, active: ActiveCall, *, interrupted: bool) -> None:
        self.commands.stop_prompt(active, interrupted=interrupted)

    def _finish(self, active: ActiveCall, reason: str, status: int) -> None:
        if active.ended:
            return
        active.ended = True
        active.prompt_id = None  # the call's end says it all; no PromptFinished after it
        if active.supervisor:  # a supervisor's phone: leave the call it watched
            self.phones.finished(active)
            _disconnect_all(active)
            self._finished.append(active)
            return
        if active.parent is not None:  # an agent leg: no CDR of its own
            _disconnect_all(active)
            self.legs.leg_finished(active, reason)
            self._finished.append(active)
            return
        self.monitors.call_finished(active)
        self.legs.customer_finished(active)
        _disconnect_all(active)
        with self._lock:
            recorder, active.recorder = active.recorder, None
        seconds = 0.0
        if recorder is not None:
            recorder.close(sink=self._sink_of(active.call_id))
            seconds = recorder.seconds
        legs = tuple(t.stats() for t in (active.caller_tap, active.other_tap) if t is not None)
        if legs and legs[0].leg == "caller":
            lost, discard, empty = active.jitter
            legs = (replace(legs[0], jb_lost=lost, jb_discarded=discard, jb_empty=empty), *legs[1:])
        self.publish(
            CallEnded(
                call_id=active.call_id,
                reason=reason,
                sip_status=status,
                recording_path=_relative(recorder.path, self.config.recordings_dir)
                if recorder
                else None,
                recording_seconds=round(seconds, 3),
                legs=legs,
            )
        )
        self._finished.append(active)

    def _reap(self) -> None:
        # Destroy ports and drop Call objects here, outside pjsua2 callbacks (crash 3).
        while self._finished:
            active = self._finished.pop()
            for tap in (active.caller_tap, active.other_tap):
                if tap is not None:
                    tap.destroy()
            if isinstance(active.call, BrowserCall):
                active.call.destroy()
            if active.relay is not None:
                active.relay.destroy()  # its transmissions stopped when the phone's leg ended
                active.relay = None
            active.caller_tap = active.other_tap = None
            active.player = active.hold_player = None
            with self._lock:
                self.calls.pop(active.call_id, None)
            self.streaming.discard(active.call_id)

    def _write_loop(self) -> None:
        self.ep.libRegisterThread("recorder")
        while not self._stop.is_set():
            with self._lock:
                recorders = [
                    (a.call_id, a.recorder) for a in self.calls.values() if a.recorder is not None
                ]
            for call_id, recorder in recorders:
                sink = self._sink_of(call_id)
                try:
                    recorder.pump(sink=sink)
                except OSError:
                    log.exception("recording %s failed (disk full?)", recorder.path.name)
            time.sleep(0.1)

    def _sink_of(self, call_id: str) -> AudioSink | None:
        send = self.send_audio
        if send is None or not (self.config.stream_all or call_id in self.streaming):
            return None
        return lambda offset, left, right: send(call_id, offset, left, right)

    # -- helpers ----------------------------------------------------------------------------
    def _handle_commands(self) -> None:
        if not self._commands:
            return
        with self._lock:
            commands, self._commands = self._commands, []
        for command in commands:
            run_command(self, command)

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for active in list(self.calls.values()):
            if active.answer_at is not None and now >= active.answer_at and not active.ended:
                active.answer_at = None
                try:
                    _answer(active.call, 200)
                except pj.Error as exc:  # the caller gave up in the same instant
                    log.info("call %s not answered: %s", active.call_id, exc.info())
            if active.parent is not None:
                self.legs.check_ringing(active, now)
            elif active.supervisor:
                self.phones.check_ringing(active, now)
            if active.prompt_id is not None and now >= active.prompt_ends:
                self._stop_prompt(active, interrupted=False)
            if not active.ended and now - active.started > self.config.max_call_seconds:
                _hangup(active.call)

    def _codec(self, call: WorkerCall) -> str:
        try:
            return str(call.getStreamInfo(0).codecName)
        except pj.Error:
            return ""

    def _set_codecs(self) -> None:
        wanted = {f"{name}/8000/1": 255 - i for i, name in enumerate(self.config.codecs)}
        wanted["telephone-event/8000/1"] = 100
        for codec in self.ep.codecEnum2():
            priority = wanted.get(codec.codecId, 0)
            self.ep.codecSetPriority(codec.codecId, priority)


def _disconnect_all(active: ActiveCall) -> None:
    """Stop every transmission between the call's ports before any is destroyed."""
    ports: list[pj.AudioMedia] = [
        p
        for p in (active.player, active.hold_player, active.caller_tap, active.other_tap)
        if p is not None
    ]
    with contextlib.suppress(pj.Error):  # the call's media may already be gone
        ports.append(active.call.getAudioMedia(-1))
    for src in ports:
        for dst in ports:
            if src is not dst:
                with contextlib.suppress(pj.Error):
                    src.stopTransmit(dst)


def _hangup(call: pj.Call) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = 200
    with contextlib.suppress(pj.Error):
        call.hangup(prm)


def _answer(call: pj.Call, status: int) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = status
    call.answer(prm)


def _end_reason(info: pj.CallInfo, answered: bool) -> str:
    if answered:
        return "hangup"
    return "cancelled" if int(info.lastStatusCode) == 487 else f"failed-{info.lastStatusCode}"


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
