"""Who speaks on the recording's right channel: our own prompts and music (leg ``system``), or
the agent (leg ``agent``) while one is bridged to the caller. The channel is one recogniser
stream (its status keeps the name ``system``); only its utterances are labelled by speaker."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar

from tingyin.bus.events import Event, TranscriptFinal, TranscriptPartial

E = TypeVar("E", bound=Event)

CHANNEL = "system"  # the right channel's stream
AGENT = "agent"


@dataclass
class AgentSpans:
    """When agents were on a call, in seconds of its recording."""

    since: float | None = None  # an agent is on the call since then
    spans: list[tuple[float, float]] = field(default_factory=list)  # earlier agents

    def answered(self, second: float) -> None:
        if self.since is None:
            self.since = second

    def left(self, second: float) -> None:
        if self.since is not None:
            self.spans.append((self.since, second))
            self.since = None

    def at(self, second: float) -> bool:
        if self.since is not None and second >= self.since:
            return True
        return any(start <= second < end for start, end in self.spans)

    def label(self, event: E) -> E:
        """The event with leg ``agent`` when the right channel's words are the agent's."""
        if not isinstance(event, TranscriptFinal | TranscriptPartial) or event.leg != CHANNEL:
            return event
        if isinstance(event, TranscriptFinal):
            agent = self.at((event.start + event.end) / 2)
        else:  # words being spoken now
            agent = self.since is not None
        return replace(event, leg=AGENT) if agent else event
