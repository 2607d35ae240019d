"""IVR figures for supervisors and QA: containment, hand-offs, drop-outs per node, a call's path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, ConfigDict

from tingyin.bus.events import utcnow
from tingyin.ivr.metrics import (
    END_TYPE,
    call_path,
    ivr_metrics,
    path_outcome,
    window_for_days,
)
from tingyin.web.deps import AppSettings, DbSession, require_roles
from tingyin.web.schemas import NO_CONTROL_CHARS

# Who may read IVR figures and paths (tingyin.web.pages serves /ivr to the same roles).
IVR_ROLES = ("supervisor", "qa", "admin")
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=366)

router = APIRouter(tags=["ivr"], dependencies=[Depends(require_roles(*IVR_ROLES))])
CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
When = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")]


class IvrSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entered: int  # calls started in the window that entered the IVR
    contained: int  # self-service done
    queued: int  # handed to an agent queue
    abandoned: int  # the caller hung up in the middle
    error: int  # the IVR failed
    in_progress: int  # no ivr_end row yet
    containment_rate: float  # contained / entered, 0 … 1
    avg_seconds: float | None  # time in the IVR, over the calls that left it


class NodeStatOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    type: str
    visits: int
    calls: int  # distinct calls that visited
    drop_outs: int  # calls abandoned at this node
    drop_out_rate: float  # drop_outs / calls, 0 … 1
    timeouts: int
    invalid: int


class IvrMetricsOut(BaseModel):
    since: datetime
    until: datetime
    timezone: str  # the site's, in which ``days`` counts calendar days
    summary: IvrSummaryOut
    nodes: list[NodeStatOut]  # most visited first


class PathStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    type: str  # the node's type; "end" for the final step
    result: str | None  # timeout, invalid, ok, accepted, declined …
    at: datetime
    offset_seconds: float  # from the first step
    outcome: str | None  # on the "end" step: contained | queued | abandoned | error


class CallPathOut(BaseModel):
    call_id: str
    outcome: str | None  # None while the call is still in the IVR
    seconds: float | None  # first step → end step
    steps: list[PathStepOut]


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def resolve_window(
    now: datetime,
    tz: ZoneInfo,
    since: datetime | None,
    until: datetime | None,
    days: int | None,
) -> tuple[datetime, datetime]:
    """The asked window in UTC, checked: ``days`` alone, or since/until (default: the last 24 h)."""
    if days is not None:
        if since is not None or until is not None:
            raise _unprocessable("give either days or since/until, not both")
        return window_for_days(now, tz, days)
    end = until or now
    start = since or end - DEFAULT_WINDOW
    if end <= start:
        raise _unprocessable("until must be after since")
    if end - start > MAX_WINDOW:
        raise _unprocessable(f"the window may span at most {MAX_WINDOW.days} days")
    return start.astimezone(UTC), end.astimezone(UTC)


@router.get(
    "/api/ivr/metrics",
    response_model=IvrMetricsOut,
    responses={
        403: {"description": "Only supervisors, QA and admins"},
        422: {"description": "A bad window"},
    },
)
def metrics(
    session: DbSession,
    settings: AppSettings,
    since: When = None,
    until: When = None,
    days: Annotated[
        int | None,
        Query(
            ge=1,
            le=366,
            description="the last N calendar days in the site's time zone, today included "
            "(1 = today); instead of since/until",
        ),
    ] = None,
) -> IvrMetricsOut:
    """The IVR figures of the calls started in [since, until): by default the last 24 hours."""
    tz = ZoneInfo(settings.timezone)
    start, end = resolve_window(utcnow(), tz, since, until, days)
    summary, nodes = ivr_metrics(session, start, end)
    return IvrMetricsOut(
        since=start,
        until=end,
        timezone=settings.timezone,
        summary=IvrSummaryOut.model_validate(summary),
        nodes=[NodeStatOut.model_validate(node) for node in nodes],
    )


@router.get(
    "/api/ivr/calls/{call_id}/path",
    response_model=CallPathOut,
    responses={
        403: {"description": "Only supervisors, QA and admins"},
        404: {"description": "The call never entered the IVR (or does not exist)"},
    },
)
def path(call_id: CallId, session: DbSession) -> CallPathOut:
    """The nodes one call went through, in order, with offsets from the first; the end last."""
    steps = call_path(session, call_id)
    if not steps:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no IVR path for this call")
    return CallPathOut(
        call_id=call_id,
        outcome=path_outcome(steps),
        seconds=next((s.offset_seconds for s in reversed(steps) if s.type == END_TYPE), None),
        steps=[PathStepOut.model_validate(step) for step in steps],
    )
