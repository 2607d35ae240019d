"""What the reports API answers (rates are 0 … 1, or null when there is nothing to divide)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CallFiguresOut(_Out):
    calls: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    talk_seconds: float | None
    wrap_seconds: float | None
    abandonment_rate: float | None
    ivr_entered: int
    ivr_containment: float | None
    fcr: float | None
    avg_abandon_wait: float | None
    callbacks: int
    callbacks_answered: int


class ComplianceOut(_Out):
    met: int
    missed: int
    pending: int
    rate: float | None


class SatisfactionOut(_Out):
    surveys: int
    satisfied: int
    mean_score: float | None
    csat: float | None


class RecurrenceOut(_Out):
    contacts: int
    repeats: int
    rate: float | None
    threshold: float
    alert: bool


class TicketFiguresOut(_Out):
    opened: int
    resolved: int
    first_response: ComplianceOut
    resolution: ComplianceOut
    satisfaction: SatisfactionOut
    recurrence: RecurrenceOut


class DayOut(BaseModel):
    day: date
    figures: CallFiguresOut


class DashboardOut(BaseModel):
    since: datetime
    until: datetime
    timezone: str
    as_of: datetime | None  # the pre-aggregates' last refresh
    service_level_seconds: int
    service_level_target: float
    calls: CallFiguresOut
    queues: dict[str, CallFiguresOut]  # "" = calls that never reached a queue
    days: list[DayOut]
    tickets: TicketFiguresOut
    backlog: dict[str, dict[str, int]]  # status → priority → open tickets now
    alerts: list[str]  # e.g. "recurrence", "service_level"


class ShareOut(_Out):
    key: str
    label: str
    tickets: int
    share: float


class DayCountOut(BaseModel):
    day: date
    tickets: int


class ComplaintsOut(BaseModel):
    since: datetime
    until: datetime
    dimension: str
    total: int
    shares: list[ShareOut]
    trend: dict[str, list[DayCountOut]]  # category → tickets per local day
    heatmap: list[list[int]]  # weekday (Monday first) × hour of day


class TicketRowOut(_Out):
    id: int
    number: str
    opened_at: datetime
    category: str
    status: str
    priority: str
    channel: str
    order_no: str | None
    store: str
    description: str
    call_ids: list[str]


class CallRowOut(_Out):
    id: str
    started_at: datetime
    status: str
    caller: str  # masked
    order_no: str | None
    reason: str


class RankedTermOut(_Out):
    term: str
    calls: int
    share: float


class RisingTermOut(_Out):
    term: str
    calls: int
    previous: int
    lift: float
    new: bool


class KeywordsOut(BaseModel):
    first: date
    last: date
    category: str | None
    calls: int  # calls with a caller transcript in the period
    top: list[RankedTermOut]
    rising: list[RisingTermOut]  # the 7 days ending on ``last`` against the 7 before


class TermCallOut(BaseModel):
    call_id: str
    started_at: datetime
    text: str


class StaffingSlotOut(_Out):
    day: date
    slot: int
    label: str
    calls: float
    agents: int
    rostered: int
    service_level: float
    asa_seconds: float


class StaffingOut(BaseModel):
    aht_seconds: float
    weeks: int
    service_level_target: float
    service_level_seconds: int
    shrinkage: float
    slots: list[StaffingSlotOut]
    peak_agents: int
    peak_rostered: int
