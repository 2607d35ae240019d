"""The IVR menu file (``config/ivr_menu.toml``): nodes that speak, listen, look up and hand over.

Loaded and checked when the hub starts (and by ``tingyin ivr check FILE``). Every mistake is
reported with the node and field it is in — ``nodes.welcome.branches.7: unknown node
'order_stauts'`` — and a menu that fails the check is never run: until it is fixed the hub runs
``fallback_menu`` (the greeting, then the agents' queue), so a typo never leaves callers stranded.

Node types (``type``):
  menu     play a prompt, read one key, branch on it (``branches``), ``on_fail`` after retries
  collect  read several keys (``min_digits``…``max_digits``, ``terminator``) into ``save_as``
  lookup   run an ``action`` (order status, ticket progress) and branch on its ``outcomes``
  choose   pick one of several orders a lookup found (keys 1…n) into ``save_as``
  remedy   offer the automatic remedy; ``accept_digit`` takes it (ticket, compensation, resolved)
  play     say something, go on to ``next``
  queue    hand the caller to an agent queue (the IVR path travels with the screen pop)
  hangup   say goodbye and end the call
Prompts are text (spoken by espeak-ng and cached) with ``{variables}`` that lookups fill, or a
WAV file an admin recorded (``prompt_wav``, relative to the menu file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tingyin.config.files import load_toml_model

DEFAULT_MENU = Path(__file__).resolve().parent.parent / "config" / "ivr_menu.toml"
KEYS = "0123456789*#"
LOOKUP_ACTIONS = ("order_by_caller", "order_by_number", "ticket_progress")
# What each action may answer; the node's ``outcomes`` must say where each one goes.
ACTION_OUTCOMES: dict[str, tuple[str, ...]] = {
    "order_by_caller": ("found", "late", "several", "not_found", "error"),
    "order_by_number": ("found", "late", "not_found", "error"),
    "ticket_progress": ("found", "not_found", "error"),
}
REMEDY_OUTCOMES = ("accepted", "pending", "declined", "error")


class MenuError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Node(_Strict):
    prompt: str = Field(default="", max_length=1000)
    prompt_wav: Path | None = None  # a recorded prompt, relative to the menu file
    barge_in: bool = True  # a key cuts the prompt off


class MenuNode(_Node):
    type: Literal["menu"]
    branches: dict[str, str] = Field(min_length=1)
    # Words a caller may say instead of pressing (live transcript of their leg): word → key.
    speech: dict[str, str] = Field(default_factory=dict)
    on_fail: str
    retries: int | None = Field(default=None, ge=0, le=5)
    timeout: float | None = Field(default=None, gt=0, le=60)

    @model_validator(mode="after")
    def _keys(self) -> MenuNode:
        for key in self.branches:
            if len(key) != 1 or key not in KEYS:
                raise ValueError(f"branches: {key!r} is not one key (0-9, * or #)")
        for word, key in self.speech.items():
            if not word.strip():
                raise ValueError("speech: an empty word")
            if key not in self.branches:
                raise ValueError(f"speech.{word}: key {key!r} is not one of the branches")
        return self


class CollectNode(_Node):
    type: Literal["collect"]
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    min_digits: int = Field(default=1, ge=1, le=32)
    max_digits: int = Field(default=32, ge=1, le=32)
    terminator: str = Field(default="#", pattern=r"^[#*]?$")
    next: str
    on_fail: str
    retries: int | None = Field(default=None, ge=0, le=5)
    first_digit_timeout: float | None = Field(default=None, gt=0, le=60)
    inter_digit_timeout: float | None = Field(default=None, gt=0, le=30)

    @model_validator(mode="after")
    def _range(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits ({self.min_digits}) > max_digits ({self.max_digits})")
        return self


class LookupNode(_Node):
    type: Literal["lookup"]
    action: Literal["order_by_caller", "order_by_number", "ticket_progress"]
    input: str = Field(default="", pattern=r"^([a-z][a-z0-9_]*)?$")  # a collect's save_as
    outcomes: dict[str, str]

    @model_validator(mode="after")
    def _all_outcomes(self) -> LookupNode:
        wanted = ACTION_OUTCOMES[self.action]
        missing = [o for o in wanted if o not in self.outcomes]
        unknown = [o for o in self.outcomes if o not in wanted]
        if missing:
            raise ValueError(f"outcomes: {self.action} needs a node for {', '.join(missing)}")
        if unknown:
            raise ValueError(
                f"outcomes: {self.action} never answers {', '.join(unknown)} "
                f"(it answers {', '.join(wanted)})"
            )
        if self.action != "order_by_caller" and not self.input:
            raise ValueError(f"input: {self.action} needs the collect variable it reads")
        return self


class ChooseNode(_Node):
    """Say the ``{choices}`` a lookup found ("…请按1，…请按2") and keep the one picked."""

    type: Literal["choose"]
    prompt: str = Field(default="{choices}", max_length=1000)
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    next: str
    on_fail: str
    retries: int | None = Field(default=None, ge=0, le=5)
    timeout: float | None = Field(default=None, gt=0, le=60)


class RemedyNode(_Node):
    type: Literal["remedy"]
    accept_digit: str = Field(default="1", pattern=r"^[0-9*#]$")
    outcomes: dict[str, str]
    timeout: float | None = Field(default=None, gt=0, le=60)

    @model_validator(mode="after")
    def _all_outcomes(self) -> RemedyNode:
        missing = [o for o in REMEDY_OUTCOMES if o not in self.outcomes]
        unknown = [o for o in self.outcomes if o not in REMEDY_OUTCOMES]
        if missing or unknown:
            raise ValueError(
                f"outcomes: needs exactly {', '.join(REMEDY_OUTCOMES)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unknown {', '.join(unknown)})" if unknown else "")
            )
        return self


class PlayNode(_Node):
    type: Literal["play"]
    next: str


class QueueNode(_Node):
    type: Literal["queue"]
    queue: str = Field(default="customer", pattern=r"^[a-z][a-z0-9_]*$")


class HangupNode(_Node):
    type: Literal["hangup"]


Node = Annotated[
    MenuNode
    | CollectNode
    | LookupNode
    | ChooseNode
    | RemedyNode
    | PlayNode
    | QueueNode
    | HangupNode,
    Field(discriminator="type"),
]


class Defaults(_Strict):
    retries: int = Field(default=2, ge=0, le=5)
    timeout: float = Field(default=6.0, gt=0, le=60, description="to press the first key")
    inter_digit_timeout: float = Field(default=3.0, gt=0, le=30)
    retry_prompt: str = Field(default="抱歉，您的输入有误，请重新输入。", min_length=1)
    timeout_prompt: str = Field(default="抱歉，没有收到您的按键。", min_length=1)
    operator_key: str = Field(default="0", pattern=r"^[0-9*#]?$")  # first key anywhere → agent
    operator_node: str = ""  # where that key goes (a queue node); required with operator_key
    error_node: str = ""  # where a failed lookup or a broken step goes; "" = hang up
    # Said in any menu: word → key (e.g. 人工 → the operator key).
    speech: dict[str, str] = Field(default_factory=dict)


class Remedy(_Strict):
    """When the IVR may settle a late order by itself, and with what."""

    late_minutes_at_least: float = Field(default=15, ge=0)
    kind: Literal["coupon"] = "coupon"
    amount_yuan: float = Field(default=5, gt=0, le=100)
    category: str = "late"

    @property
    def amount_fen(self) -> int:
        return round(self.amount_yuan * 100)


class Menu(_Strict):
    start: str
    defaults: Defaults = Field(default_factory=Defaults)
    remedy: Remedy = Field(default_factory=Remedy)
    nodes: dict[str, Node] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Menu:
        problems = _dangling(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def node(self, node_id: str) -> Any:
        return self.nodes[node_id]

    def prompt_texts(self) -> set[str]:
        """Every fixed prompt text (no variables): synthesised ahead, so none waits on espeak."""
        texts = {self.defaults.retry_prompt, self.defaults.timeout_prompt}
        texts.update(n.prompt for n in self.nodes.values() if n.prompt and "{" not in n.prompt)
        return texts


def _targets(node: Any) -> list[tuple[str, str]]:
    """(field, node id) for every reference a node makes."""
    refs: list[tuple[str, str]] = []
    for name in ("next", "on_fail"):
        if getattr(node, name, None):
            refs.append((name, getattr(node, name)))
    for name in ("branches", "outcomes"):
        for key, target in (getattr(node, name, None) or {}).items():
            refs.append((f"{name}.{key}", target))
    return refs


def _dangling(menu: Menu) -> list[str]:
    problems: list[str] = []
    known = ", ".join(sorted(menu.nodes))
    if menu.start not in menu.nodes:
        problems.append(f"start: unknown node {menu.start!r} (nodes: {known})")
    defaults = menu.defaults
    for field, target in (("operator_node", defaults.operator_node),
                          ("error_node", defaults.error_node)):  # fmt: skip
        if target and target not in menu.nodes:
            problems.append(f"defaults.{field}: unknown node {target!r}")
    for word, key in defaults.speech.items():
        if len(key) != 1 or key not in KEYS:
            problems.append(f"defaults.speech.{word}: {key!r} is not one key (0-9, * or #)")
    if defaults.operator_key and not defaults.operator_node:
        problems.append("defaults.operator_node: needed with operator_key (the agents' queue)")
    for node_id, node in menu.nodes.items():
        for field, target in _targets(node):
            if target not in menu.nodes:
                problems.append(f"nodes.{node_id}.{field}: unknown node {target!r}")
        if not node.prompt and node.prompt_wav is None and node.type in ("menu", "collect"):
            problems.append(f"nodes.{node_id}.prompt: a {node.type} node must say something")
        if isinstance(node, MenuNode) and defaults.operator_key in node.branches:
            target = node.branches[defaults.operator_key]
            if target != defaults.operator_node:
                problems.append(
                    f"nodes.{node_id}.branches.{defaults.operator_key}: the operator key always "
                    f"goes to {defaults.operator_node!r}"
                )
    return problems


def load_menu(path: Path | None = None) -> Menu:
    """The menu from ``path`` (default: the packaged one); MenuError names node and field."""
    path = path or DEFAULT_MENU
    menu = load_toml_model(path, Menu, "IVR menu", MenuError, lambda exc, _data: _explain(exc))
    missing = [
        f"  nodes.{node_id}.prompt_wav: file not found: {node.prompt_wav}"
        for node_id, node in menu.nodes.items()
        if node.prompt_wav is not None and not (path.parent / node.prompt_wav).is_file()
    ]
    if missing:
        raise MenuError(f"IVR menu {path}:\n" + "\n".join(missing))
    return menu


def _explain(exc: ValidationError) -> str:
    lines: list[str] = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        loc = [str(part) for part in err["loc"]]
        # A node's errors carry its type as a step of the path: nodes.welcome.menu.branches.
        if len(loc) >= 3 and loc[0] == "nodes" and loc[2] in _NODE_TYPES:
            del loc[2]
        if not loc:  # the cross-checks: one problem a line, each naming its place
            lines.extend(f"  {line}" for line in msg.splitlines())
            continue
        if err["type"] == "union_tag_invalid":
            loc, msg = [*loc, "type"], f"unknown node type (known: {', '.join(_NODE_TYPES)})"
        elif err["type"] == "union_tag_not_found":
            loc, msg = [*loc, "type"], f"a node needs a type ({', '.join(_NODE_TYPES)})"
        lines.append(f"  {'.'.join(loc)}: {msg}")
    return "\n".join(lines)


_NODE_TYPES = ("menu", "collect", "lookup", "choose", "remedy", "play", "queue", "hangup")


def fallback_menu(greeting: str) -> Menu:
    """What callers get while the menu file is broken: the greeting, then the agents' queue —
    a typo in the menu must not leave the line unanswered."""
    return Menu.model_validate({
        "start": "welcome",
        "defaults": {"operator_node": "to_agent"},
        "nodes": {
            "welcome": {"type": "play", "prompt": greeting, "next": "to_agent"},
            "to_agent": {"type": "queue", "prompt": "正在为您转接人工客服，请稍候。"},
        },
    })  # fmt: skip
