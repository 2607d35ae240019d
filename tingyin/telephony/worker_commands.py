"""The hub's commands to a media worker, by name: what each one does on the worker's SIP loop.

Commands arrive as JSON over the worker's socket (``ipc.WorkerLink``), wait in the worker's
list, and are applied here one by one on the SIP loop thread, the only thread that may touch
pjsua2 calls. An unknown command is ignored (a newer hub talking to an older worker).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from tingyin.telephony.browser_leg import is_browser_uri

if TYPE_CHECKING:
    from tingyin.telephony.endpoint import MediaWorker


def run_command(worker: MediaWorker, command: dict[str, Any]) -> None:
    name = command.get("command")
    active = worker.calls.get(str(command.get("call_id")))
    if name == "hangup":
        if active is not None and not active.ended:
            prm = pj.CallOpParam()
            prm.statusCode = 200
            with contextlib.suppress(pj.Error):
                active.call.hangup(prm)
    elif name == "originate":
        if active is None:
            worker.commands.originate(command)
    elif name == "play":
        if active is not None and not active.ended:
            worker.commands.play(active, command)
    elif name == "stop_prompt":
        if active is not None:
            worker.stop_prompt(active, interrupted=True)
    elif name == "stream":
        call_id = str(command.get("call_id"))
        if command.get("on"):
            worker.streaming.add(call_id)
        else:
            worker.streaming.discard(call_id)
    elif name in ("shutdown", "hub-lost"):
        worker.stop_loop()
    else:
        _legs(worker, str(name), command)


def _legs(worker: MediaWorker, name: str, command: dict[str, Any]) -> None:
    """Agents', third parties' and supervisors' legs on a customer's call."""
    call_id, leg_id = str(command.get("call_id")), str(command.get("leg_id"))
    if name == "connect_agent":
        if is_browser_uri(str(command.get("uri", ""))):
            worker.browser.offer(command)
        else:
            worker.legs.offer(command)
    elif name == "answer_browser":
        worker.browser.answer(command)
    elif name == "browser_gone":
        worker.browser.gone(leg_id)
    elif name == "add_party":
        worker.legs.add_party(command)
    elif name == "release_agent":
        worker.legs.release(call_id)
    elif name == "transfer_out":
        worker.legs.transfer_out(command)
    elif name == "drop_agent":
        worker.legs.drop(call_id, leg_id)
    elif name == "consult":
        worker.legs.consults.start(command)  # a SIP phone or a browser, as connect_agent
    elif name == "consult_complete":
        worker.legs.consults.complete(call_id)
    elif name == "consult_cancel":
        worker.legs.consults.cancel(call_id)
    elif name == "hold":
        worker.legs.hold(command)
    elif name == "dtmf":
        worker.legs.dtmf(command)
    elif name == "monitor_join":
        worker.monitors.join(command)
    elif name == "monitor_mode":
        worker.monitors.switch(command)
    elif name == "monitor_leave":
        worker.monitors.leave(leg_id)
    elif name == "supervisor_accept":
        worker.phones.accept(command)
    elif name == "supervisor_reject":
        worker.phones.reject(command)
