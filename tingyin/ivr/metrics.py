"""IVR figures read from ``call_events``: how many callers helped themselves, where they gave up.

The IVR engine writes, for every call that enters the IVR, one ``kind="ivr"`` row per node
visited (``data``: ``node``, ``type``, optionally ``result`` such as "timeout" or "invalid") and
one final ``kind="ivr_end"`` row (``data``: ``outcome``, ``node``: the last node).

JSON is not queried in SQL (its operators differ between SQLite and PostgreSQL): the rows of the
calls *started* in the window are streamed in call order and aggregated here, one call at a time.
A call belongs to the window of its ``Call.started_at`` (indexed), never half to two windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from tingyin.store.models import Call, CallEventRow

IVR_KINDS = ("ivr", "ivr_end")
OUTCOMES = ("contained", "queued", "abandoned", "error")
END_TYPE = "end"  # PathStep.type of the final ivr_end row
_STREAM_ROWS = 2000
_Row = Row[str, datetime, str, dict[str, Any]]  # call_id, at, kind, data


@dataclass(frozen=True)
class IvrSummary:
    entered: int  # calls with at least one IVR row
    contained: int
    queued: int
    abandoned: int
    error: int  # includes ivr_end rows whose outcome is not one of OUTCOMES
    in_progress: int  # entered, no ivr_end row (yet)
    containment_rate: float  # contained / entered; 0 when none entered
    avg_seconds: float | None  # first ivr row → ivr_end row, over the calls having both


@dataclass(frozen=True)
class NodeStat:
    node: str
    type: str  # the node's type as last written (play, menu, collect …)
    visits: int
    calls: int  # distinct calls that visited
    drop_outs: int  # calls abandoned with this node as their last one
    timeouts: int
    invalid: int

    @property
    def drop_out_rate(self) -> float:
        """Drop-outs per call that reached the node (0 … 1)."""
        reached = max(self.calls, self.drop_outs)
        return self.drop_outs / reached if reached else 0.0


@dataclass(frozen=True)
class PathStep:
    node: str
    type: str  # the node's type; END_TYPE for the final ivr_end row
    result: str | None
    at: datetime
    offset_seconds: float  # from the call's first IVR row
    outcome: str | None = None  # only on the END_TYPE step


# -- one call's IVR rows -------------------------------------------------------------------
@dataclass(frozen=True)
class _Visit:
    at: datetime
    node: str
    type: str
    result: str | None


@dataclass(frozen=True)
class _End:
    at: datetime
    outcome: str
    node: str


@dataclass
class _Trace:
    visits: list[_Visit] = field(default_factory=list)
    end: _End | None = None  # the last ivr_end row, if any

    @property
    def outcome(self) -> str | None:
        if self.end is None:
            return None
        return self.end.outcome if self.end.outcome in OUTCOMES else "error"

    @property
    def last_node(self) -> str:
        if self.end is not None and self.end.node:
            return self.end.node
        return self.visits[-1].node if self.visits else ""

    @property
    def seconds(self) -> float | None:
        if not self.visits or self.end is None:
            return None
        return max(0.0, (self.end.at - self.visits[0].at).total_seconds())


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _trace(rows: Iterable[_Row]) -> _Trace:
    """Rows of one call, ordered by time: (call_id, at, kind, data)."""
    trace = _Trace()
    for _call_id, at, kind, data in rows:
        data = data if isinstance(data, dict) else {}
        if kind == "ivr":
            result = _text(data, "result") or None
            trace.visits.append(_Visit(at, _text(data, "node"), _text(data, "type"), result))
        else:
            trace.end = _End(at, _text(data, "outcome"), _text(data, "node"))
    return trace


def _require_aware(*values: datetime) -> None:
    if any(value.tzinfo is None for value in values):
        raise ValueError("since and until must be timezone-aware")


def _traces(session: Session, since: datetime, until: datetime) -> Iterator[_Trace]:
    """The IVR trace of each call started in [since, until), streamed one call at a time."""
    _require_aware(since, until)
    query = (
        select(CallEventRow.call_id, CallEventRow.at, CallEventRow.kind, CallEventRow.data)
        .join(Call, Call.id == CallEventRow.call_id)
        .where(
            Call.started_at >= since,
            Call.started_at < until,
            CallEventRow.kind.in_(IVR_KINDS),
        )
        .order_by(CallEventRow.call_id, CallEventRow.at, CallEventRow.id)
        .execution_options(yield_per=_STREAM_ROWS)
    )
    for _call_id, rows in groupby(session.execute(query), key=lambda row: row[0]):
        yield _trace(rows)


# -- the figures ---------------------------------------------------------------------------
@dataclass
class _NodeCounts:
    type: str = ""
    visits: int = 0
    calls: int = 0
    drop_outs: int = 0
    timeouts: int = 0
    invalid: int = 0


def ivr_metrics(
    session: Session, since: datetime, until: datetime
) -> tuple[IvrSummary, list[NodeStat]]:
    """The summary and the per-node figures in one pass over the window's rows."""
    outcomes = dict.fromkeys(OUTCOMES, 0)
    entered = in_progress = timed = 0
    total_seconds = 0.0
    nodes: dict[str, _NodeCounts] = {}
    for trace in _traces(session, since, until):
        entered += 1
        outcome = trace.outcome
        if outcome is None:
            in_progress += 1
        else:
            outcomes[outcome] += 1
        seconds = trace.seconds
        if seconds is not None:
            timed += 1
            total_seconds += seconds
        for visit in trace.visits:
            counts = nodes.setdefault(visit.node, _NodeCounts())
            counts.type = visit.type or counts.type
            counts.visits += 1
            counts.timeouts += visit.result == "timeout"
            counts.invalid += visit.result == "invalid"
        for node in {visit.node for visit in trace.visits}:
            nodes[node].calls += 1
        if outcome == "abandoned":
            nodes.setdefault(trace.last_node, _NodeCounts()).drop_outs += 1
    summary = IvrSummary(
        entered=entered,
        contained=outcomes["contained"],
        queued=outcomes["queued"],
        abandoned=outcomes["abandoned"],
        error=outcomes["error"],
        in_progress=in_progress,
        containment_rate=outcomes["contained"] / entered if entered else 0.0,
        avg_seconds=total_seconds / timed if timed else None,
    )
    stats = [
        NodeStat(node, c.type, c.visits, c.calls, c.drop_outs, c.timeouts, c.invalid)
        for node, c in nodes.items()
    ]
    stats.sort(key=lambda s: (-s.visits, s.node))
    return summary, stats


def ivr_summary(session: Session, since: datetime, until: datetime) -> IvrSummary:
    """Calls started in [since, until) that entered the IVR, and how their IVR part ended."""
    return ivr_metrics(session, since, until)[0]


def node_stats(session: Session, since: datetime, until: datetime) -> list[NodeStat]:
    """Per node of the calls started in [since, until): most visited first."""
    return ivr_metrics(session, since, until)[1]


def call_path(session: Session, call_id: str) -> list[PathStep]:
    """One call's IVR rows in order, the ivr_end row last (as a step of type END_TYPE).

    Empty when the call never entered the IVR (or does not exist).
    """
    rows = session.execute(
        select(CallEventRow.call_id, CallEventRow.at, CallEventRow.kind, CallEventRow.data)
        .where(CallEventRow.call_id == call_id, CallEventRow.kind.in_(IVR_KINDS))
        .order_by(CallEventRow.at, CallEventRow.id)
    ).all()
    if not rows:
        return []
    first = rows[0][1]
    steps: list[PathStep] = []
    for _call_id, at, kind, raw in rows:
        data = raw if isinstance(raw, dict) else {}
        offset = (at - first).total_seconds()
        if kind == "ivr":
            result = _text(data, "result") or None
            steps.append(PathStep(_text(data, "node"), _text(data, "type"), result, at, offset))
        else:
            outcome = _text(data, "outcome")
            outcome = outcome if outcome in OUTCOMES else "error"
            steps.append(PathStep(_text(data, "node"), END_TYPE, None, at, offset, outcome))
    return steps


def path_outcome(steps: Sequence[PathStep]) -> str | None:
    """The outcome of a path: its last END_TYPE step's, None while the call is in the IVR."""
    ends = [step.outcome for step in steps if step.type == END_TYPE]
    return ends[-1] if ends else None


def window_for_days(now: datetime, tz: ZoneInfo, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` calendar days in the site's zone, today included, ending at ``now``.

    ``days=1`` is today since local midnight. Returned in UTC.
    """
    _require_aware(now)
    if days < 1:
        raise ValueError("days must be at least 1")
    today = now.astimezone(tz).date() - timedelta(days=days - 1)
    start = datetime(today.year, today.month, today.day, tzinfo=tz)
    return start.astimezone(UTC), now.astimezone(UTC)
