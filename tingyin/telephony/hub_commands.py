"""Commands by which the hub drives a call in a media worker: dial out, play a prompt, stop it.

The hub decides (the IVR, the follow-up survey); the worker carries out and reports
(``CallRinging`` for a call it places, ``PromptFinished`` when a prompt ends or a key cut it off).
Runs on the worker's SIP loop thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.bus.events import CallRinging, PromptFinished
from tingyin.privacy import mask_number, number_from_uri
from tingyin.telephony.prompts import wav_seconds

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import ActiveCall, MediaWorker

log = logging.getLogger(__name__)


class HubCommands:
    def __init__(self, worker: MediaWorker) -> None:
        self.worker = worker

    def originate(self, command: dict[str, Any]) -> None:
        """Dial out (a follow-up survey, a callback): the hub chose the id and the target."""
        from tingyin.telephony.endpoint import ActiveCall, WorkerCall

        w = self.worker
        call_id, uri = str(command["call_id"]), str(command["uri"])
        caller, dialed = str(command.get("caller", "")), number_from_uri(uri)
        call = WorkerCall(w, w.outbound_account(caller), pj.PJSUA_INVALID_ID, call_id)
        active = ActiveCall(call_id=call_id, call=call, direction="outbound")
        with w.lock:
            w.calls[call_id] = active
        log.info("call %s out to %s", call_id, mask_number(dialed))
        w.publish(
            CallRinging(
                call_id=call_id,
                sip_call_id="",
                worker=w.config.index,
                caller=caller,
                dialed=dialed,
                direction="outbound",
            )
        )
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:  # no free call slot, a bad URI, no route
            log.warning("call %s could not be placed: %s", call_id, exc.info())
            w.finish(active, "failed-originate", 0)

    def play(self, active: ActiveCall, command: dict[str, Any]) -> None:
        """Play a prompt file into the call (and the recording's right channel); one at a time.
        Asked for before the media is up, it starts with it; refused once an agent talks."""
        w = self.worker
        path = Path(str(command["path"]))
        if active.bridged:  # talking to an agent: no more hold music or menu prompts
            return
        if active.audio is None or active.other_tap is None:
            active.pending_prompt = command
            return
        self.stop_prompt(active, interrupted=True)
        prompt_id = str(command.get("prompt_id", ""))
        try:
            seconds = wav_seconds(path)
            player = pj.AudioMediaPlayer()
            player.createPlayer(str(path), pj.PJMEDIA_FILE_NO_LOOP)
        except (OSError, ValueError, pj.Error) as exc:
            log.error("prompt %s cannot be played: %s", path.name, exc)
            w.publish(PromptFinished(call_id=active.call_id, prompt_id=prompt_id))
            return
        player.startTransmit(active.audio)
        player.startTransmit(active.other_tap)  # the recording hears the prompt on our channel
        active.player = player
        active.prompt_id = prompt_id
        active.prompt_ends = time.monotonic() + seconds
        active.prompt_barge = bool(command.get("barge", True))

    def stop_prompt(self, active: ActiveCall, *, interrupted: bool) -> None:
        w = self.worker
        player = active.player
        if player is not None:
            for port in (active.audio, active.other_tap):
                if port is not None:
                    with contextlib.suppress(pj.Error):
                        player.stopTransmit(port)
            active.player = None  # a plain pjmedia player: freed here, no Python callbacks
        if active.prompt_id is not None:
            prompt_id, active.prompt_id = active.prompt_id, None
            w.publish(
                PromptFinished(call_id=active.call_id, prompt_id=prompt_id, interrupted=interrupted)
            )
