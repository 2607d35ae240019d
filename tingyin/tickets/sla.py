"""The sans-I/O SLA clock of a ticket (工单).

The targets and the calendar come from the ticket policy file (``tickets.policy``:
``TicketPolicy.sla_for(category, priority)`` and ``calendar_from(TicketPolicy.calendar)``).
``SlaClock.evaluate`` takes a target, a business calendar, the ticket's opening instant, its
clock events and ``now``, and returns an ``SlaStatus``: no database, no wall clock. The
scheduler sleeps until ``SlaStatus.next_change_at``, evaluates again and publishes what
``transitions(before, after)`` returns (a warning before the breach, then the breach that
escalates to a supervisor).

Three clocks, all counted in business minutes of the calendar:

``first_response``
    From ``opened_at`` until the first customer-visible contact: a ``first_response`` or
    ``update`` event, or ``resolved`` (closing a ticket tells the customer). Pauses do **not**
    stop it: a ticket cannot wait on a customer nobody has contacted yet.
``next_update``
    Only when the target has ``update_min`` and the first response is met. A cycle starts at
    the first response and restarts at every ``first_response``/``update`` event, at ``resume``
    (the customer answered, so the next word is ours) and at ``reopened``. A pause stops it;
    ``resolved`` meets it. Before the first response it is ``None`` (not applicable).
``resolution``
    From ``opened_at``; paused time and resolved time do not count. ``reopened`` resumes it
    with the time already used (it does not start over), so a reopened ticket is close to its
    due time, as it should be; its ``met_at`` is cleared until the next ``resolved``.

States: a clock whose business time used reaches ``warn_ratio`` of its target is ``warning``;
at the target it is ``breached`` (from that very instant on). Below the warning line a stopped
clock is ``paused`` and a counting one ``running``. A clock met in time is ``met``; one met late
stays ``breached`` (with ``met_at`` set): reports count it. ``due_at`` is the instant the
target falls due (in the past for a breached clock); it is ``None`` once met in time and while
paused before the breach (it depends on when the pause ends). Events later than ``now`` are
ignored, events earlier than ``opened_at`` count as at ``opened_at``, and events at the same
instant apply in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, get_args

from tingyin.tickets.calendar import BusinessCalendar, require_aware

if TYPE_CHECKING:
    from tingyin.tickets.policy import Calendar

ClockName = Literal["first_response", "next_update", "resolution"]
ClockState = Literal["running", "paused", "met", "warning", "breached"]
EventKind = Literal["first_response", "update", "pause", "resume", "resolved", "reopened"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
AlertState = Literal["warning", "breached"]

# How bad each state is, for SlaStatus.worst.
SEVERITY: dict[ClockState, int] = {"met": 0, "paused": 1, "running": 2, "warning": 3, "breached": 4}

_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)
_MINUTE = timedelta(minutes=1)


class TargetLike(Protocol):
    """What the clock reads from a target, e.g. ``tingyin.tickets.policy.SlaTarget``.

    Business minutes allowed for each clock (``update_min=None``: no update clock) and the share
    of a target after which a clock warns (1 = never warns). The clock does not validate them:
    the policy file's model does (minutes > 0, first response before resolution).
    """

    @property
    def first_response_min(self) -> float: ...
    @property
    def update_min(self) -> float | None: ...
    @property
    def resolution_min(self) -> float: ...
    @property
    def warn_ratio(self) -> float: ...


def calendar_from(policy_calendar: Calendar) -> BusinessCalendar:
    """The clock's calendar for the policy file's ``[calendar]`` (``TicketPolicy.calendar``)."""
    return BusinessCalendar(
        timezone=policy_calendar.timezone,
        hours=policy_calendar.weekly_hours(),
        holidays=policy_calendar.holidays,
        always_open=policy_calendar.always_open,
        special_days=policy_calendar.special_hours(),
    )


class ClockEvent(NamedTuple):
    """Something that moves a ticket's clocks, e.g. ``ClockEvent(at, "pause")``."""

    at: datetime
    kind: EventKind


@dataclass(frozen=True)
class ClockStatus:
    """One clock as of ``SlaStatus.evaluated_at``.

    ``started_at`` is the start of the current cycle (the ticket's opening, or for
    ``next_update`` the last update); ``warn_at`` and ``due_at`` are when the warning and
    the breach begin (or began); ``minutes_left`` is business minutes to the target, negative
    once breached (frozen at ``met_at`` once met).
    """

    name: ClockName
    state: ClockState
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None
    minutes_left: float
    paused: bool


@dataclass(frozen=True)
class SlaStatus:
    evaluated_at: datetime
    first_response: ClockStatus
    next_update: ClockStatus | None
    resolution: ClockStatus
    paused: bool
    resolved: bool
    next_change_at: datetime | None
    """When a clock would next enter ``warning`` or ``breached`` if nothing happens."""

    @property
    def clocks(self) -> tuple[ClockStatus, ...]:
        if self.next_update is None:
            return (self.first_response, self.resolution)
        return (self.first_response, self.next_update, self.resolution)

    @property
    def worst(self) -> ClockState:
        """The most severe state: breached > warning > running > paused > met."""
        return max((clock.state for clock in self.clocks), key=SEVERITY.__getitem__)


@dataclass(frozen=True)
class SlaAlert:
    """A warning or breach a clock has just entered: what to publish live.

    ``at`` is when the state began. ``met_at`` is set for a target met late (the breach is a
    fact for reports, but there is nothing left to chase); ``escalate`` says whether to call a
    supervisor.
    """

    clock: ClockName
    state: AlertState
    at: datetime
    due_at: datetime | None
    minutes_left: float
    met_at: datetime | None

    @property
    def escalate(self) -> bool:
        return self.state == "breached" and self.met_at is None


@dataclass
class _Timer:
    """Business time used against one target, with the instants its lines were crossed."""

    target: timedelta
    warn: timedelta | None
    started_at: datetime
    running_since: datetime | None
    elapsed: timedelta = _ZERO
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    met_at: datetime | None = None

    @classmethod
    def new(cls, minutes: float, ratio: float, started_at: datetime, *, running: bool) -> _Timer:
        target = max(timedelta(minutes=minutes), _TICK)
        warn = max(timedelta(minutes=minutes * ratio), _TICK)
        return cls(
            target=target,
            warn=warn if warn < target else None,
            started_at=started_at,
            running_since=started_at if running else None,
        )

    def run_until(self, calendar: BusinessCalendar, until: datetime) -> None:
        begin = self.running_since
        if begin is None or until <= begin:
            return
        before = self.elapsed
        after = before + calendar.duration_between(begin, until)
        if self.warn is not None and before < self.warn <= after:
            self.warned_at = calendar.add_duration(begin, self.warn - before)
        if before < self.target <= after:
            self.breached_at = calendar.add_duration(begin, self.target - before)
        self.elapsed = after
        self.running_since = until

    def stop(self, calendar: BusinessCalendar, at: datetime) -> None:
        self.run_until(calendar, at)
        self.running_since = None

    def start(self, at: datetime) -> None:
        if self.running_since is None:
            self.running_since = at

    def meet(self, calendar: BusinessCalendar, at: datetime) -> None:
        self.stop(calendar, at)
        self.met_at = at

    def status(self, name: ClockName, calendar: BusinessCalendar, now: datetime) -> ClockStatus:
        self.run_until(calendar, now)
        running = self.running_since is not None
        left = self.target - self.elapsed
        state: ClockState
        due_at: datetime | None = None
        warn_at = self.warned_at
        if self.breached_at is not None:
            state, due_at = "breached", self.breached_at
        elif self.met_at is not None:
            state = "met"
        elif self.warned_at is not None:
            state = "warning"
            if running:
                due_at = calendar.add_duration(now, left)
        elif running:
            state = "running"
            due_at = calendar.add_duration(now, left)
            if self.warn is not None:
                warn_at = calendar.add_duration(now, self.warn - self.elapsed)
        else:
            state = "paused"
        return ClockStatus(
            name=name,
            state=state,
            started_at=self.started_at,
            due_at=due_at,
            warn_at=warn_at,
            met_at=self.met_at,
            minutes_left=left / _MINUTE,
            paused=not running and self.met_at is None,
        )


class SlaClock:
    """The sans-I/O SLA clock (see the module docstring for the rules)."""

    @staticmethod
    def evaluate(
        target: TargetLike,
        calendar: BusinessCalendar,
        *,
        opened_at: datetime,
        events: Sequence[ClockEvent],
        now: datetime,
    ) -> SlaStatus:
        opened = require_aware(opened_at, "opened_at")
        current = require_aware(now, "now")
        if current < opened:
            raise ValueError(f"now ({current.isoformat()}) is before opened_at ({opened})")
        timeline: list[tuple[datetime, EventKind]] = []
        for at, kind in events:
            if kind not in EVENT_KINDS:
                raise ValueError(
                    f"unknown clock event {kind!r} (expected one of {', '.join(EVENT_KINDS)})"
                )
            instant = max(require_aware(at, f"{kind} event time"), opened)
            if instant <= current:
                timeline.append((instant, kind))
        timeline.sort(key=lambda item: item[0])  # stable: same-instant events keep their order

        ratio = target.warn_ratio
        first = _Timer.new(target.first_response_min, ratio, opened, running=True)
        resolution = _Timer.new(target.resolution_min, ratio, opened, running=True)
        update: _Timer | None = None
        paused = resolved = False

        def new_cycle(at: datetime) -> _Timer | None:
            if target.update_min is None or first.met_at is None or resolved:
                return None
            return _Timer.new(target.update_min, ratio, at, running=not paused)

        for at, kind in timeline:
            for timer in (first, resolution, update):
                if timer is not None:
                    timer.run_until(calendar, at)
            if kind in ("first_response", "update"):
                if resolved:
                    continue
                if first.met_at is None:
                    first.meet(calendar, at)
                update = new_cycle(at)
            elif kind == "pause":
                if not resolved and not paused:
                    paused = True
                    resolution.stop(calendar, at)
                    if update is not None:
                        update.stop(calendar, at)
            elif kind == "resume":
                if paused:
                    paused = False
                    resolution.start(at)
                    update = new_cycle(at)
            elif kind == "resolved":
                if not resolved:
                    resolved, paused = True, False
                    if first.met_at is None:
                        first.meet(calendar, at)
                    resolution.meet(calendar, at)
                    if update is not None:
                        update.meet(calendar, at)
            elif kind == "reopened" and resolved:
                resolved = False
                resolution.met_at = None
                resolution.start(at)
                update = new_cycle(at)

        first_status = first.status("first_response", calendar, current)
        update_status = None if update is None else update.status("next_update", calendar, current)
        resolution_status = resolution.status("resolution", calendar, current)
        return SlaStatus(
            evaluated_at=current,
            first_response=first_status,
            next_update=update_status,
            resolution=resolution_status,
            paused=paused,
            resolved=resolved,
            next_change_at=_next_change(first_status, update_status, resolution_status),
        )


def _next_change(*clocks: ClockStatus | None) -> datetime | None:
    upcoming: list[datetime] = []
    for clock in clocks:
        if clock is None or clock.paused:
            continue
        if clock.state == "running":
            instant = clock.warn_at if clock.warn_at is not None else clock.due_at
        elif clock.state == "warning":
            instant = clock.due_at
        else:
            continue
        if instant is not None:
            upcoming.append(instant)
    return min(upcoming, default=None)


def transitions(before: SlaStatus | None, after: SlaStatus) -> list[SlaAlert]:
    """Warnings and breaches entered between two evaluations of the same ticket.

    A clock that went from counting straight to breached (evaluated late) yields only the
    breach; a new ``next_update`` cycle (a different ``started_at``) is judged afresh.
    """
    earlier = {clock.name: clock for clock in before.clocks} if before is not None else {}
    alerts: list[SlaAlert] = []
    for clock in after.clocks:
        previous = earlier.get(clock.name)
        if previous is not None and previous.started_at != clock.started_at:
            previous = None
        was = previous.state if previous is not None else None
        state: AlertState
        if clock.state == "breached" and was != "breached":
            state, at = "breached", clock.due_at
        elif clock.state == "warning" and was not in ("warning", "breached"):
            state, at = "warning", clock.warn_at
        else:
            continue
        alerts.append(
            SlaAlert(
                clock=clock.name,
                state=state,
                at=at if at is not None else after.evaluated_at,
                due_at=clock.due_at,
                minutes_left=clock.minutes_left,
                met_at=clock.met_at,
            )
        )
    return alerts
