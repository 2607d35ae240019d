"""The agents' desks as the listening room mirrors them: the latest ``DeskMirror`` per agent.

Kept in memory, fed by the bus (so every web node hearing the bus holds the same board), and
dropped when the call is over for that agent: the call ended or failed, their leg ended (a
transfer), or they moved on to another state without the call. A draft is a screen's state,
not a record: the ticket the agent submits is what is stored.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable

from tingyin.bus import EventBus
from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallEnded,
    CallFailed,
    DeskMirror,
    Event,
)
from tingyin.privacy import mask_number

ENDED_KEPT = 4096  # ended calls remembered, so a draft posted late does not come back

# Phone-shaped digits in free text (a number the caller dictated, a quoted transcript line):
# mobiles (+86 / 0086 optional, spaced or dashed 3-4-4) and area-code landlines. Order numbers
# are longer digit runs and are left alone by the digit boundaries.
_PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)86[ -]?)?(?P<national>1[3-9]\d(?:[ -]?\d{4}){2})(?!\d)"
    r"|(?<!\d)(?P<landline>0\d{2,3}[ -]?\d{7,8})(?!\d)"
)


def mask_phones(text: str) -> str:
    """'回电 +86 138-1234-5678' → '回电 138****5678' (see privacy.mask_number)."""

    def masked(match: re.Match[str]) -> str:
        number = match.group("national") or match.group("landline")
        return mask_number(re.sub(r"\D", "", number))

    return _PHONE.sub(masked, text)


class DeskMirrors:
    """The board: pure methods (``keep``, ``call_over`` …) and the bus handlers feeding them."""

    def __init__(self) -> None:
        self._latest: dict[int, DeskMirror] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        # The API thread and the bus's loop both write: one lock, held for dict work only.
        self._lock = threading.Lock()
        self._unsubscribe: list[Callable[[], None]] = []

    def follow(self, bus: EventBus) -> None:
        self._unsubscribe = [
            bus.subscribe(DeskMirror, self._on_event),
            bus.subscribe(CallEnded, self._on_event),
            bus.subscribe(CallFailed, self._on_event),
            bus.subscribe(AgentLeg, self._on_event),
            bus.subscribe(AgentStateChanged, self._on_event),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def latest(self, agent_id: int) -> DeskMirror | None:
        with self._lock:
            return self._latest.get(agent_id)

    def has_ended(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._ended

    def keep(self, mirror: DeskMirror) -> bool:
        """Keep the newest state per agent; False (nothing kept) for a call already over."""
        with self._lock:
            if mirror.call_id in self._ended:
                return False
            held = self._latest.get(mirror.agent_id)
            # The API keeps its own event and the bus brings it again, maybe after a newer one.
            if held is None or held.call_id != mirror.call_id or held.at <= mirror.at:
                self._latest[mirror.agent_id] = mirror
            return True

    def call_over(self, call_id: str) -> None:
        with self._lock:
            self._ended[call_id] = None
            self._ended.move_to_end(call_id)
            while len(self._ended) > ENDED_KEPT:
                self._ended.popitem(last=False)
            for agent_id in [a for a, m in self._latest.items() if m.call_id == call_id]:
                del self._latest[agent_id]

    def agent_left(self, agent_id: int, call_id: str) -> None:
        """The agent is no longer on ``call_id`` (their leg ended, they took another call)."""
        with self._lock:
            held = self._latest.get(agent_id)
            if held is not None and held.call_id == call_id:
                del self._latest[agent_id]

    def apply(self, event: Event) -> None:
        if isinstance(event, DeskMirror):
            self.keep(event)
        elif isinstance(event, CallEnded | CallFailed):
            self.call_over(event.call_id)
        elif isinstance(event, AgentLeg) and event.state in ("ended", "failed"):
            self.agent_left(event.agent_id, event.call_id)
        elif isinstance(event, AgentStateChanged):
            held = self.latest(event.user_id)
            if held is not None and held.call_id != event.call_id:
                self.agent_left(event.user_id, held.call_id)

    async def _on_event(self, event: Event) -> None:
        self.apply(event)
