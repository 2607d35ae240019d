"""A small pjsua2 caller for tests, benchmarks and the demo.

``python -m tingyin.telephony.test_caller sip:400@127.0.0.1:5060 --play speech.wav
--dtmf 12# --dtmf-at 2 --record heard.wav --hangup-after 8``

Dials the URI, plays a WAV into the call, sends RFC 2833 DTMF, records what it hears, hangs up,
and prints one JSON line with the outcome. Exit code 0 when the call was answered.

``--answer-on PORT`` turns it into the called party instead (a customer's phone for outbound
calls such as the follow-up survey): it listens on 127.0.0.1:PORT, answers the first call, and
then plays, records and presses keys the same way; ``--hangup-after 0`` waits for the far end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pjsua2 as pj


@dataclass
class Outcome:
    answered: bool = False
    disconnected: bool = False
    status: int = 0
    reason: str = ""
    answered_at: float = 0.0
    ended_at: float = 0.0
    dtmf_sent: str = ""
    dtmf_received: str = ""
    recording_at: float = 0.0  # monotonic, when --record started taking what is heard
    playing_at: float = 0.0  # monotonic, when --play started


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(
        self, account: pj.Account, outcome: Outcome, call_id: int = pj.PJSUA_INVALID_ID
    ) -> None:
        super().__init__(account, call_id)
        self.outcome = outcome
        self.audio: pj.AudioMedia | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.outcome.answered:
            self.outcome.answered = True
            self.outcome.answered_at = time.monotonic()
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.outcome.disconnected = True
            self.outcome.ended_at = time.monotonic()
            self.outcome.status = int(info.lastStatusCode)
            self.outcome.reason = str(info.lastReason)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.outcome.dtmf_received += str(prm.digit)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.audio = self.getAudioMedia(index)


class _Answering(pj.Account):  # type: ignore[misc]
    """Answers the first incoming call (the others get 486) and keeps a reference to it."""

    def __init__(self, outcome: Outcome, answer_after: float = 0.0) -> None:
        super().__init__()
        self.outcome = outcome
        self.call: _Call | None = None
        self.remote = ""
        self.answer_after = answer_after
        self.answer_at = 0.0  # while ringing: when to pick up

    def pick_up_if_due(self) -> None:
        if self.call is not None and self.answer_at and time.monotonic() >= self.answer_at:
            self.answer_at = 0.0
            answer = pj.CallOpParam()
            answer.statusCode = 200
            self.call.answer(answer)

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = _Call(self, self.outcome, prm.callId)
        answer = pj.CallOpParam()
        if self.call is not None:
            answer.statusCode = 486
            call.hangup(answer)
            return
        self.call = call
        self.remote = str(call.getInfo().remoteUri)
        answer.statusCode = 180 if self.answer_after > 0 else 200
        call.answer(answer)
        if self.answer_after > 0:
            self.answer_at = time.monotonic() + self.answer_after


def _press(text: str) -> tuple[float, str]:
    at, _, keys = text.partition(":")
    if not keys or any(k not in "0123456789*#ABCD" for k in keys):
        raise SystemExit(f"--press wants SECONDS:KEYS, not {text!r}")
    return float(at), keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tingyin-test-caller", description=__doc__)
    parser.add_argument("uri", nargs="?", default="", help="whom to call (not with --answer-on)")
    parser.add_argument("--caller", default="13800138000", help="number in the From header")
    parser.add_argument("--play", type=Path)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--dtmf", default="")
    parser.add_argument("--dtmf-at", type=float, default=1.0, help="seconds after answer")
    parser.add_argument("--hangup-after", type=float, default=5.0, help="seconds after answer")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--rtp-port", type=int, default=0, help="0 = pick one")
    parser.add_argument("--answer-on", type=int, default=0, help="be called on this SIP port")
    parser.add_argument(
        "--answer-after", type=float, default=0.0, help="with --answer-on: ring this long first"
    )
    parser.add_argument(
        "--press",
        action="append",
        default=[],
        metavar="SECONDS:KEYS",
        help="keys to press this long after the answer (repeatable), e.g. 3.5:1 9:8800#",
    )
    args = parser.parse_args(argv)

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.stunServer.clear()
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.port = args.answer_on
    kind = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
    ep.transportCreate(kind, tcfg)
    ep.audDevManager().setNullDev()
    ep.libStart()

    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{args.caller}@127.0.0.1"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.port = args.rtp_port or (
        30000 + (time.time_ns() // 1000) % 20000
    )
    acfg.mediaConfig.transportConfig.portRange = 200
    outcome = Outcome()
    account = _Answering(outcome, args.answer_after)
    account.create(acfg)

    presses = sorted(_press(p) for p in args.press)
    if args.dtmf:
        presses.append((args.dtmf_at, args.dtmf))
        presses.sort()
    call: _Call | None = None
    if not args.answer_on:
        call = _Call(account, outcome)
        uri = args.uri if args.transport == "udp" else f"{args.uri};transport=tcp"
        call.makeCall(uri, pj.CallOpParam(True))
    if args.answer_on:
        print(json.dumps({"listening": args.answer_on}), flush=True)

    player: pj.AudioMediaPlayer | None = None
    recorder: pj.AudioMediaRecorder | None = None
    connected = False
    deadline = time.monotonic() + args.timeout
    while not outcome.disconnected and time.monotonic() < deadline:
        ep.libHandleEvents(10)
        account.pick_up_if_due()
        call = call or account.call
        if call is None:
            continue
        if call.audio is not None and not connected:
            connected = True
            if args.play:
                player = pj.AudioMediaPlayer()
                player.createPlayer(str(args.play), pj.PJMEDIA_FILE_NO_LOOP)
                player.startTransmit(call.audio)
                outcome.playing_at = time.monotonic()
            if args.record:
                args.record.parent.mkdir(parents=True, exist_ok=True)
                recorder = pj.AudioMediaRecorder()
                recorder.createRecorder(str(args.record))
                call.audio.startTransmit(recorder)
                outcome.recording_at = time.monotonic()
        if outcome.answered:
            elapsed = time.monotonic() - outcome.answered_at
            while presses and elapsed >= presses[0][0]:
                keys = presses.pop(0)[1]
                call.dialDtmf(keys)
                outcome.dtmf_sent += keys
            if args.hangup_after and elapsed >= args.hangup_after:
                call.hangup(pj.CallOpParam(True))
                args.hangup_after = float("inf")
    if not outcome.disconnected:
        ep.hangupAllCalls()
        end = time.monotonic() + 1.0
        while not outcome.disconnected and time.monotonic() < end:
            ep.libHandleEvents(10)
    # Teardown order from PJSUA2_NOTES (crash 2): players/recorders and calls before libDestroy.
    del player, recorder
    if call is not None:
        call.audio = None
    account.call = call = None
    account.shutdown()
    ep.libDestroy()
    seconds = outcome.ended_at - outcome.answered_at if outcome.answered else 0.0
    summary = {
        "answered": outcome.answered,
        "status": outcome.status,
        "reason": outcome.reason,
        "seconds": round(max(seconds, 0.0), 3),
        "dtmf_sent": outcome.dtmf_sent,
        "dtmf_received": outcome.dtmf_received,
        "remote": account.remote,
    }
    if outcome.recording_at and outcome.answered:
        # Where the recording's first sample lies after the answer (200 OK), in seconds: it
        # starts when the call's media is up, which may be a little before or after.
        summary["record_offset"] = round(outcome.recording_at - outcome.answered_at, 4)
    # CLOCK_MONOTONIC is one clock for every process of the machine: benchmarks time audio
    # across processes with these (bench/softphone.py).
    summary["clock"] = {"playing_at": outcome.playing_at, "recording_at": outcome.recording_at}
    print(json.dumps(summary), flush=True)
    return 0 if outcome.answered else 1


if __name__ == "__main__":
    sys.exit(main())
