"""The alert engine: bus events in (with ``now=``), alerts out. Sans-I/O, so the rules are tested
in microseconds with transcript events whose text the test controls.

The moment of an alert (``at_seconds``) is on the recording's clock, which starts when the call
is answered: a phrase's is its utterance's start, a timer's is when its limit was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallAlert,
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallEvent,
    CallFailed,
    CallRinging,
    Event,
    TicketSlaAlert,
    TranscriptFinal,
    TranscriptPartial,
)
from tingyin.listening.rules import AlertRules, PhraseRule, TimerRule

FORGET_AFTER = timedelta(hours=12)  # a call whose end never came (a lost event) is dropped


@dataclass(frozen=True)
class Alert:
    call_id: str
    rule: str
    kind: str  # phrase | silence | hold | long_call | sla
    severity: str
    at_seconds: float
    text: str
    agent_id: int = 0


@dataclass
class _Call:
    seen_at: datetime
    answered_at: datetime | None = None
    agent_id: int = 0
    agent_on: bool = False  # an agent's leg is bridged (answered and not ended)
    held_since: datetime | None = None
    transcribed: bool = False  # words have come for it: silence means something
    last_voice: datetime | None = None
    tickets: set[str] = field(default_factory=set)
    fired: set[tuple[str, str]] = field(default_factory=set)  # (rule, what): once each


class AlertEngine:
    def __init__(self, rules: AlertRules) -> None:
        self.rules = rules
        self.calls: dict[str, _Call] = {}

    def feed(self, event: Event, *, now: datetime) -> list[Alert]:
        """Take one bus event; the alerts it fires (phrases, SLA)."""
        if isinstance(event, TicketSlaAlert):
            return self._sla(event, now)
        if isinstance(event, AgentStateChanged):
            if event.call_id and event.call_id in self.calls:
                self.calls[event.call_id].agent_id = event.user_id
            return []
        if not isinstance(event, CallEvent) or isinstance(event, CallAlert):  # not our own
            return []
        if isinstance(event, CallEnded | CallFailed):
            self.calls.pop(event.call_id, None)
            return []
        call = self.calls.get(event.call_id)
        if call is None:
            call = self.calls[event.call_id] = _Call(seen_at=now)
        if isinstance(event, CallRinging):
            call.seen_at = now
        elif isinstance(event, CallAnswered):
            call.answered_at = call.answered_at or now
        elif isinstance(event, AgentLeg):
            self._agent_leg(call, event, now)
        elif isinstance(event, CallerContextReady):
            call.tickets.update(event.open_tickets)
        elif isinstance(event, TranscriptPartial):
            if event.text.strip():
                call.transcribed, call.last_voice = True, now
        elif isinstance(event, TranscriptFinal):
            call.transcribed, call.last_voice = True, now
            return self._phrases(event.call_id, call, event)
        return []

    def tick(self, *, now: datetime) -> list[Alert]:
        """The timers' alerts due at ``now`` (call every second or so)."""
        alerts: list[Alert] = []
        for call_id, call in list(self.calls.items()):
            if now - call.seen_at > FORGET_AFTER:
                del self.calls[call_id]
                continue
            for rule in self.rules.timers:
                alert = self._timer(call_id, call, rule, now)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def link_ticket(self, call_id: str, number: str) -> None:
        """A ticket opened for (or linked to) a call in progress: its SLA now concerns it."""
        if call_id in self.calls:
            self.calls[call_id].tickets.add(number)

    # -- the rules -----------------------------------------------------------------------------
    def _agent_leg(self, call: _Call, event: AgentLeg, now: datetime) -> None:
        if event.agent_id:
            call.agent_id = event.agent_id
        if event.state in ("answered", "resumed"):
            call.agent_on, call.held_since = True, None
            call.last_voice = now  # silence is counted from the agent's hello
            call.answered_at = call.answered_at or now
        elif event.state == "held":
            call.held_since = call.held_since or now
        elif event.state in ("ended", "failed"):
            call.agent_on, call.held_since = False, None

    def _phrases(self, call_id: str, call: _Call, event: TranscriptFinal) -> list[Alert]:
        text = "".join(event.text.split())
        alerts: list[Alert] = []
        for rule in self.rules.phrases:
            if not _leg_matches(rule, event.leg):
                continue
            for word in rule.words:
                if word in text and (rule.name, word) not in call.fired:
                    call.fired.add((rule.name, word))
                    alerts.append(self._alert(call_id, call, rule.name, "phrase", rule.severity,
                                              event.start, word))  # fmt: skip
        return alerts

    def _timer(self, call_id: str, call: _Call, rule: TimerRule, now: datetime) -> Alert | None:
        since = self._timer_start(call, rule)
        if since is None:
            return None
        key = (rule.name, since.isoformat())  # once per stretch of silence or hold
        over = (now - since).total_seconds()
        if over < rule.seconds or key in call.fired:
            return None
        call.fired.add(key)
        due = since + timedelta(seconds=rule.seconds)
        return self._alert(call_id, call, rule.name, rule.kind, rule.severity,
                           self._into(call, due), f"{rule.seconds}s")  # fmt: skip

    @staticmethod
    def _timer_start(call: _Call, rule: TimerRule) -> datetime | None:
        if rule.kind == "long_call":
            return call.answered_at
        if rule.kind == "hold":
            return call.held_since
        # silence: only with an agent on, not on hold (the music is not dead air), and words
        # coming at all for this call (without live transcription every call would be silent)
        if not (call.agent_on and call.held_since is None and call.transcribed):
            return None
        return call.last_voice

    def _sla(self, event: TicketSlaAlert, now: datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for rule in self.rules.sla:
            if event.state not in rule.states:
                continue
            for call_id, call in self.calls.items():
                key = (rule.name, f"{event.number}:{event.state}")
                if event.number in call.tickets and key not in call.fired:
                    call.fired.add(key)
                    alerts.append(self._alert(call_id, call, rule.name, "sla", rule.severity,
                                              self._into(call, now), event.number))  # fmt: skip
        return alerts

    @staticmethod
    def _into(call: _Call, when: datetime) -> float:
        start = call.answered_at or call.seen_at
        return round(max(0.0, (when - start).total_seconds()), 1)

    @staticmethod
    def _alert(
        call_id: str, call: _Call, rule: str, kind: str, severity: str, at: float, text: str
    ) -> Alert:
        return Alert(call_id, rule, kind, severity, round(at, 1), text, call.agent_id)


def _leg_matches(rule: PhraseRule, leg: str) -> bool:
    return rule.leg == "any" or rule.leg == leg
