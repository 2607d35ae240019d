"""The dashboard's figures from counts, and one call's counts from its CDR rows (sans-I/O).

Definitions (the README's Reports section repeats them):

- **offered**: calls that entered an agent queue; **answered** / **abandoned**: how their wait
  ended (an answered call is never also abandoned, even after a transfer re-queued it).
- **service level**: answered within ``T`` s / (answered + abandoned): callers who gave up
  count against it, calls still waiting do not.
- **ASA**: the average wait of answered calls (their first answered wait).
- **AHT**: (talk + wrap-up) / handled calls; talk is the time agent legs were bridged.
- **abandonment**: abandoned / offered. **IVR containment**: contained / entered the IVR.
- **FCR**: of the handled calls about a known order, the share with no other call and no new
  ticket on that order within the window after it (a ticket raised on the call itself is fine).
- **CSAT**: follow-up scores >= ``satisfied_min`` (default 4 of 5) / answered surveys.
- **SLA compliance**: clocks met in time / clocks decided (met, met late, or overdue).
- **recurrence rate**: repeat complaints (a new contact joining an open ticket, or a ticket
  marked as repeating one) / all complaint contacts; over the threshold it is an alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

SL_SECONDS = (10, 20, 30, 60)  # the service-level thresholds kept per half hour


@dataclass
class CallTotals:
    """Additive counts of calls (one half hour × queue, or any sum of them)."""

    calls: int = 0  # calls started
    ivr_entered: int = 0
    ivr_contained: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within_10: int = 0
    within_20: int = 0
    within_30: int = 0
    within_60: int = 0
    wait_seconds: float = 0.0  # answered calls' waits
    abandon_wait_seconds: float = 0.0
    handled: int = 0  # calls an agent talked on
    talk_seconds: float = 0.0
    wrap_seconds: float = 0.0
    fcr_eligible: int = 0
    fcr_repeat: int = 0
    callbacks: int = 0
    callbacks_answered: int = 0

    def add(self, other: CallTotals) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @classmethod
    def sum(cls, items: Iterable[CallTotals]) -> CallTotals:
        total = cls()
        for item in items:
            total.add(item)
        return total

    def within(self, seconds: int) -> int:
        if seconds not in SL_SECONDS:
            raise ValueError(f"service level threshold must be one of {SL_SECONDS}")
        return int(getattr(self, f"within_{seconds}"))


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide (shown as "—", never as 0 %)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class CallFigures:
    calls: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    talk_seconds: float | None  # average talk per handled call
    wrap_seconds: float | None
    abandonment_rate: float | None
    ivr_entered: int
    ivr_containment: float | None
    fcr: float | None
    avg_abandon_wait: float | None
    callbacks: int
    callbacks_answered: int


def call_figures(t: CallTotals, sl_seconds: int = 20) -> CallFigures:
    return CallFigures(
        calls=t.calls,
        offered=t.offered,
        answered=t.answered,
        abandoned=t.abandoned,
        service_level=ratio(t.within(sl_seconds), t.answered + t.abandoned),
        asa_seconds=ratio(t.wait_seconds, t.answered),
        aht_seconds=ratio(t.talk_seconds + t.wrap_seconds, t.handled),
        talk_seconds=ratio(t.talk_seconds, t.handled),
        wrap_seconds=ratio(t.wrap_seconds, t.handled),
        abandonment_rate=ratio(t.abandoned, t.offered),
        ivr_entered=t.ivr_entered,
        ivr_containment=ratio(t.ivr_contained, t.ivr_entered),
        fcr=ratio(t.fcr_eligible - t.fcr_repeat, t.fcr_eligible),
        avg_abandon_wait=ratio(t.abandon_wait_seconds, t.abandoned),
        callbacks=t.callbacks,
        callbacks_answered=t.callbacks_answered,
    )


# -- one call ------------------------------------------------------------------------------
@dataclass
class CallFact:
    """What one call adds to its half hour; ``queue`` is the first queue it entered ("")."""

    queue: str
    totals: CallTotals
    order_no: str | None = None  # for FCR, filled by the caller of call_fact


def _f(data: dict[str, Any], key: str) -> float:
    try:
        return float(data.get(key) or 0.0)
    except (TypeError, ValueError):
        return 0.0


def call_fact(
    rows: Iterable[tuple[datetime, str, dict[str, Any]]],
    *,
    ended_at: datetime | None,
    wrap_seconds: float = 0.0,
) -> CallFact:
    """A call's counts from its ``call_events`` rows (at, kind, data), in time order."""
    t = CallTotals(calls=1, wrap_seconds=wrap_seconds)
    queue = ""
    queued = answered = False
    last_left = ""
    abandon_wait = 0.0
    first_wait: float | None = None
    ivr_outcome = ""
    legs: dict[str, datetime] = {}  # agent leg → bridged at
    for at, kind, raw in rows:
        data = raw if isinstance(raw, dict) else {}
        if kind == "ivr":
            t.ivr_entered = 1
        elif kind == "ivr_end":
            t.ivr_entered = 1
            ivr_outcome = str(data.get("outcome") or "")
        elif kind == "queued":
            if not queued:
                queue = str(data.get("queue") or "")
            queued = True
        elif kind == "queue_left":
            queued = True
            last_left = str(data.get("outcome") or "")
            if last_left == "answered":
                answered = True
                if first_wait is None:
                    first_wait = _f(data, "waited_seconds")
            elif last_left == "abandoned":
                abandon_wait = _f(data, "waited_seconds")
        elif kind == "callback":
            t.callbacks += 1
            t.callbacks_answered += data.get("outcome") == "answered"
        elif kind == "agent_leg":
            leg, state = str(data.get("leg_id") or ""), data.get("state")
            if state == "answered":
                legs[leg] = at
            elif state in ("ended", "failed") and leg in legs:
                t.talk_seconds += max(0.0, (at - legs.pop(leg)).total_seconds())
    for bridged in legs.values():  # still talking, or the ended row is missing
        if ended_at is not None:
            t.talk_seconds += max(0.0, (ended_at - bridged).total_seconds())
    t.ivr_contained = int(ivr_outcome == "contained")
    if queued:
        t.offered = 1
        if answered:
            wait = first_wait or 0.0
            t.answered, t.wait_seconds = 1, wait
            for seconds in SL_SECONDS:
                setattr(t, f"within_{seconds}", int(wait <= seconds))
        elif last_left == "abandoned" or ended_at is not None:
            t.abandoned, t.abandon_wait_seconds = 1, abandon_wait
    t.handled = int(answered or t.talk_seconds > 0)
    if not t.handled:
        t.wrap_seconds = 0.0
    return CallFact(queue, t)


# -- tickets and surveys ---------------------------------------------------------------------
@dataclass(frozen=True)
class Satisfaction:
    surveys: int
    satisfied: int
    mean_score: float | None
    csat: float | None  # satisfied / surveys


def satisfaction(scores: Iterable[int], satisfied_min: int = 4) -> Satisfaction:
    values = [s for s in scores if 1 <= s <= 5]
    happy = sum(s >= satisfied_min for s in values)
    mean = sum(values) / len(values) if values else None
    return Satisfaction(len(values), happy, mean, ratio(happy, len(values)))


@dataclass(frozen=True)
class Compliance:
    met: int
    missed: int  # met late, or overdue and still open
    pending: int  # running, not yet due

    @property
    def rate(self) -> float | None:
        return ratio(self.met, self.met + self.missed)


def clock_outcome(state: str, due_at: datetime | None, now: datetime) -> str:
    """met | missed | pending for one SLA clock stored as of its last refresh."""
    if state == "met":
        return "met"
    if state == "breached" or (due_at is not None and due_at <= now and state != "paused"):
        return "missed"
    return "pending"


@dataclass(frozen=True)
class Recurrence:
    contacts: int  # complaint contacts: new tickets + repeat contacts on open ones
    repeats: int
    rate: float | None
    threshold: float
    alert: bool


def recurrence(contacts: int, repeats: int, threshold: float = 0.05) -> Recurrence:
    rate = ratio(repeats, contacts)
    return Recurrence(contacts, repeats, rate, threshold, rate is not None and rate > threshold)
