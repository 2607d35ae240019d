"""One caller's walk through the menu: say, listen for keys, look up, offer, hand over, hang up.

Runs in the hub on a ``CallHandle`` (``telephony.control``). Every node entered is announced
(``IvrStep``) and the walk's end once (``IvrEnded``: contained, queued, abandoned, error), so the
CDR keeps the path even when the caller hangs up half-way. The first key of any menu or number
may be the operator key, which goes straight to the agents' queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tingyin.bus.events import CallQueued, Event, IvrEnded, IvrStep
from tingyin.ivr.menu import ChooseNode, CollectNode, Menu, MenuNode, RemedyNode
from tingyin.ivr.speech import read_count, read_minutes
from tingyin.telephony.control import CallGone, CallHandle

log = logging.getLogger(__name__)

MAX_STEPS = 200  # a menu that loops forever (9 → welcome → 9 …) still ends
CALLBACK_KEY = "1"
CALLBACK_KEY_WAIT_S = 6.0
CALLBACK_OFFER = (
    "您已等待较长时间。如需我们稍后给您回电，请按1，您的排队位置将为您保留；继续等待请不要挂机。"
)
CALLBACK_TAKEN = "好的，客服空闲时将立即给您回电，您的排队位置已为您保留。再见。"
CALLBACK_GREETING = "您好，这里是客服中心给您回电，正在为您接通人工客服，请稍候。"
CALLBACK_PROMPTS = (CALLBACK_OFFER, CALLBACK_TAKEN, CALLBACK_GREETING)


@dataclass(frozen=True)
class QueuePlace:
    """A waiting caller's place: callers ahead and the expected wait, said every so often."""

    ahead: int
    expected_seconds: float
    every_seconds: float = 30.0

    def sentence(self) -> str:
        minutes = max(1, round(self.expected_seconds / 60))
        return (f"您前面还有{read_count(self.ahead)}位客户在等待，"
                f"预计等待{read_minutes(minutes)}，请您稍候。")  # fmt: skip


@dataclass(frozen=True)
class Found:
    """What a lookup or a remedy answered: an outcome the menu branches on, and words to say."""

    outcome: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class QueueLine:
    """What the ACD tells and takes while a caller waits (each None: not available)."""

    place: Callable[[str], QueuePlace | None] | None = None
    callback_in: Callable[[str], float | None] | None = None  # seconds until the offer
    take_callback: Callable[[str, str], bool] | None = None  # (call, number): place kept


class IvrActions(Protocol):
    """What the menu's lookups and remedy do (``ivr.actions``; tests may bring their own)."""

    async def order_by_caller(self, call_id: str, caller: str) -> Found: ...
    async def order_by_number(self, call_id: str, order_no: str) -> Found: ...
    async def ticket_progress(self, call_id: str, number: str) -> Found: ...
    async def apply_remedy(self, call_id: str, caller: str, order_no: str) -> Found: ...
    async def prompt(self, text: str) -> Path: ...
    async def hold_music(self) -> Path: ...


@dataclass
class _Walk:
    variables: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    last_result: str = ""


class IvrSession:
    def __init__(
        self,
        menu: Menu,
        handle: CallHandle,
        actions: IvrActions,
        publish: Any,
        *,
        caller: str,
        menu_dir: Path,
    ) -> None:
        self.menu = menu
        self.handle = handle
        self.actions = actions
        self.publish: Any = publish  # Callable[[Event], None]
        self.caller = caller
        self.menu_dir = menu_dir
        self.walk = _Walk()
        self.started = time.monotonic()
        self.words: dict[str, str] = dict(menu.defaults.speech)  # what may be said right now
        # Where the caller stands once queued, and the callback offer (the ACD answers).
        self.queue_line = QueueLine()

    @property
    def call_id(self) -> str:
        return self.handle.call_id

    async def run(self) -> str:
        """Walk the menu until the call is handed over, hung up, or left; the outcome."""
        node_id, outcome = self.menu.start, "error"
        try:
            for _ in range(MAX_STEPS):
                self._enter(node_id)
                following = await self._node(node_id)
                if following is None or following.startswith("="):
                    outcome = following[1:] if following else "contained"
                    break
                node_id = following
            else:
                log.error("call %s: IVR went round %d nodes; giving up", self.call_id, MAX_STEPS)
        except CallGone:
            outcome = "abandoned"
        except Exception:
            log.exception("call %s: IVR failed in node %s", self.call_id, node_id)
            outcome = "error"
        self._emit(IvrEnded(call_id=self.call_id, outcome=outcome, node=node_id,
                            path=tuple(self.walk.path)))  # fmt: skip
        if outcome == "queued":
            await hold(self.handle, self.actions, self.queue_line, caller=self.caller)
        elif outcome == "error":
            await self.handle.hangup()
        return outcome

    # -- nodes ------------------------------------------------------------------------------
    async def _node(self, node_id: str) -> str | None:
        """The next node's id, or ``=outcome`` / None (contained) when the walk ends here."""
        node = self.menu.node(node_id)
        kind = node.type
        if kind == "menu":
            return await self._menu(node)
        if kind == "collect":
            return await self._collect(node)
        if kind == "lookup":
            return await self._lookup(node)
        if kind == "choose":
            return await self._choose(node)
        if kind == "remedy":
            return await self._remedy(node)
        if kind == "play":
            await self._say(node)
            return str(node.next)
        if kind == "queue":
            await self._say(node, barge=False)
            self._emit(CallQueued(call_id=self.call_id, queue=node.queue,
                                  path=tuple(self.walk.path)))  # fmt: skip
            return "=queued"
        await self._say(node, barge=False)  # hangup
        await self.handle.hangup()
        return None

    def heard(self, text: str) -> str | None:
        """The key a caller's words stand for (the longest word heard wins), if any."""
        said = "".join(ch for ch in text if ch.isalnum())
        found = [(len(word), key) for word, key in self.words.items() if word in said]
        return max(found)[1] if found else None

    async def _menu(self, node: MenuNode) -> str:
        defaults = self.menu.defaults
        self.words = defaults.speech | node.speech
        try:
            return await self._menu_keys(node)
        finally:
            self.words = dict(defaults.speech)

    async def _menu_keys(self, node: MenuNode) -> str:
        defaults = self.menu.defaults
        retries = defaults.retries if node.retries is None else node.retries
        timeout = node.timeout or defaults.timeout
        for attempt in range(retries + 1):
            if attempt:
                self.handle.clear_digits()
            await self._say(node)
            key = await self.handle.read_digit(timeout)
            if key is not None and key == defaults.operator_key:
                return self._result("operator", defaults.operator_node)
            if key is not None and key in node.branches:
                return self._result(f"key:{key}", node.branches[key])
            await self._complain(key is None, last=attempt == retries)
        return self._result("failed", node.on_fail)

    async def _collect(self, node: CollectNode) -> str:
        defaults = self.menu.defaults
        retries = defaults.retries if node.retries is None else node.retries
        first = node.first_digit_timeout or defaults.timeout
        between = node.inter_digit_timeout or defaults.inter_digit_timeout
        for attempt in range(retries + 1):
            if attempt:
                self.handle.clear_digits()
            await self._say(node)
            digits, timed_out = "", False
            while len(digits) < node.max_digits:
                key = await self.handle.read_digit(first if not digits else between)
                if key is None:
                    timed_out = not digits
                    break
                if not digits and key == defaults.operator_key:
                    return self._result("operator", defaults.operator_node)
                if key == node.terminator:
                    break
                if not key.isdigit():
                    digits = ""
                    break
                digits += key
            if node.min_digits <= len(digits) <= node.max_digits:
                self.walk.variables[node.save_as] = digits
                return self._result("ok", node.next)
            await self._complain(timed_out, last=attempt == retries)
        return self._result("failed", node.on_fail)

    async def _lookup(self, node: Any) -> str:
        action = node.action
        if action == "order_by_caller":
            found = await self.actions.order_by_caller(self.call_id, self.caller)
        elif action == "order_by_number":
            found = await self.actions.order_by_number(self.call_id, self._var(node.input))
        else:
            found = await self.actions.ticket_progress(self.call_id, self._var(node.input))
        self.walk.variables.update(found.variables)
        return self._result(found.outcome, node.outcomes[found.outcome])

    async def _choose(self, node: ChooseNode) -> str:
        defaults = self.menu.defaults
        retries = defaults.retries if node.retries is None else node.retries
        for attempt in range(retries + 1):
            if attempt:
                self.handle.clear_digits()
            await self._say(node)
            key = await self.handle.read_digit(node.timeout or defaults.timeout)
            if key is not None and key == defaults.operator_key:
                return self._result("operator", defaults.operator_node)
            picked = self.walk.variables.get(f"choice_{key}") if key is not None else None
            if picked:
                self.walk.variables[node.save_as] = picked
                return self._result(f"key:{key}", node.next)
            await self._complain(key is None, last=attempt == retries)
        return self._result("failed", node.on_fail)

    async def _remedy(self, node: RemedyNode) -> str:
        defaults = self.menu.defaults
        await self._say(node)
        key = await self.handle.read_digit(node.timeout or defaults.timeout)
        if key == node.accept_digit:
            order_no = self.walk.variables.get("order_no", "")
            found = await self.actions.apply_remedy(self.call_id, self.caller, order_no)
            self.walk.variables.update(found.variables)
            return self._result(found.outcome, node.outcomes[found.outcome])
        if key is not None and key == defaults.operator_key:
            return self._result("operator", defaults.operator_node)
        return self._result("declined", node.outcomes["declined"])

    # -- speaking ---------------------------------------------------------------------------
    async def _say(self, node: Any, *, barge: bool | None = None) -> None:
        if node.prompt_wav is not None:
            path = self.menu_dir / node.prompt_wav
        elif node.prompt:
            text = node.prompt.format_map(_Variables(self.walk.variables))
            if not text.strip():
                return
            path = await self.actions.prompt(text)
        else:
            return
        await self.handle.play(path, barge=node.barge_in if barge is None else barge)

    async def _complain(self, timed_out: bool, *, last: bool) -> None:
        if last:
            return
        defaults = self.menu.defaults
        text = defaults.timeout_prompt if timed_out else defaults.retry_prompt
        self.walk.last_result = "timeout" if timed_out else "invalid"
        self._emit_result(self.walk.last_result)
        await self.handle.play(await self.actions.prompt(text))

    # -- bookkeeping ------------------------------------------------------------------------
    def _var(self, name: str) -> str:
        return self.walk.variables.get(name, "")

    def _result(self, result: str, following: str) -> str:
        self.walk.last_result = result
        return following

    def _enter(self, node_id: str) -> None:
        node = self.menu.node(node_id)
        self.walk.path.append(node_id)
        self._emit(IvrStep(call_id=self.call_id, node=node_id, node_type=node.type,
                           result=self.walk.last_result))  # fmt: skip
        self.walk.last_result = ""

    def _emit_result(self, result: str) -> None:
        node_id = self.walk.path[-1] if self.walk.path else ""
        node_type = self.menu.node(node_id).type if node_id else ""
        self._emit(IvrStep(call_id=self.call_id, node=node_id, node_type=node_type,
                           result=result))  # fmt: skip

    def _emit(self, event: Event) -> None:
        self.publish(event)


async def hold(handle: CallHandle, actions: IvrActions, line: QueueLine, *, caller: str) -> None:
    """Music until an agent takes the call (the walk is cancelled) or the caller hangs up; now
    and then their place in the queue when someone is ahead; after the queue's maximum wait, once,
    the offer to be called back (the caller then hangs up, their place kept)."""
    try:
        music = await actions.hold_music()
        said_at, offered = -1e9, False
        while True:
            due = None
            if line.callback_in is not None and not offered and _callable_back(caller):
                due = line.callback_in(handle.call_id)
            if due is not None and due <= 0:
                offered = True
                if await _offer_callback(handle, actions, line, caller):
                    return
                continue
            place = line.place(handle.call_id) if line.place is not None else None
            if place is not None and time.monotonic() - said_at >= place.every_seconds:
                said_at = time.monotonic()
                if place.ahead > 0:
                    await handle.play(await actions.prompt(place.sentence()))
            if due is None:
                await handle.play(music, barge=False)
            else:  # cut the music short for the offer; the next prompt replaces it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(handle.play(music, barge=False), due)
    except CallGone:
        return


async def _offer_callback(
    handle: CallHandle, actions: IvrActions, line: QueueLine, caller: str
) -> bool:
    """Press 1 to be called back: True when taken (the call is hung up after a goodbye)."""
    handle.clear_digits()
    await handle.play(await actions.prompt(CALLBACK_OFFER))
    key = await handle.read_digit(CALLBACK_KEY_WAIT_S)
    if key != CALLBACK_KEY or line.take_callback is None:
        return False
    if not line.take_callback(handle.call_id, caller):  # an agent is being rung for them
        return False
    await handle.play(await actions.prompt(CALLBACK_TAKEN), barge=False)
    await handle.hangup()
    await handle.wait_ended(5.0)
    return True


def _callable_back(caller: str) -> bool:
    digits = caller.lstrip("+")
    return len(digits) >= 5 and digits.isdigit()  # not anonymous, not an extension


class _Variables(dict[str, str]):
    """Prompt variables; one a lookup did not set reads as nothing rather than failing a call."""

    def __missing__(self, key: str) -> str:
        log.warning("IVR prompt variable {%s} is not set", key)
        return ""
