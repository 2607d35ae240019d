"""Request and response models of the QA API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnswerIn = Literal["yes", "no", "na"] | int | str


class ScorecardOut(BaseModel):
    version_id: int  # the stored version (evaluations point at it)
    id: str
    version: int
    content_hash: str
    name: str
    pass_score: float
    definition: dict[str, Any]  # sections and items, as in the file


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["live", "post_call"]
    answers: dict[str, int | str] = Field(max_length=200)
    calibration_id: int | None = None
    comment: str = Field(default="", max_length=2000)  # an overall remark (pinned to 0 s)


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    kind: str
    scorecard_version_id: int
    evaluator_id: int | None
    agent_id: int | None
    calibration_id: int | None
    answers: dict[str, Any]
    total: float
    raw_total: float
    critical_failed: bool
    resolution_level: str | None
    findings: list[dict[str, Any]]
    metrics: dict[str, Any]
    summary: str
    created_at: datetime
    updated_at: datetime


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_seconds: float = Field(ge=0, le=24 * 3600)
    text: str = Field(min_length=1, max_length=2000)
    evaluation_id: int | None = None


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    evaluation_id: int | None
    author_id: int | None
    author: str = ""
    at_seconds: float
    text: str
    created_at: datetime


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    leg: str
    start: float
    end: float
    text: str
    words: list[dict[str, Any]]


class ReviewOut(BaseModel):
    """Everything the review page shows for one call."""

    call_id: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    caller: str  # masked
    recording_seconds: float | None
    has_recording: bool
    agent_id: int | None
    agent: str
    order_no: str | None
    tickets: list[str]
    segments: list[SegmentOut]
    comments: list[CommentOut]
    auto: EvaluationOut | None
    evaluations: list[EvaluationOut]  # final scores (calibration rounds are not shown here)


class PeaksOut(BaseModel):
    seconds: float
    rate: int
    caller: list[float]  # 0…1 peak per bucket
    agent: list[float]


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=255)


class SpreadOut(BaseModel):
    count: int
    mean: float
    low: float
    high: float
    stdev: float
    resolution_levels: dict[str, int]
    disagreements: dict[str, dict[str, int]]


class CalibrationOut(BaseModel):
    id: int
    call_id: str
    note: str
    created_at: datetime
    scored: bool  # whether the asking user has scored it: only then are the others shown
    count: int
    spread: SpreadOut | None = None
    evaluations: list[EvaluationOut] = []


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    decision: str = Field(min_length=1, max_length=2000)
    answers: dict[str, int | str] | None = None  # upheld: the corrected items


class AppealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    evaluation_id: int
    agent_id: int | None
    reason: str
    status: str
    decision: str
    decided_by: int | None
    previous_total: float | None
    log: list[dict[str, Any]]
    opened_at: datetime
    decided_at: datetime | None


class MyEvaluationOut(BaseModel):
    """An agent's own score, with the evidence: the automatic findings and pinned comments."""

    evaluation: EvaluationOut
    evidence: list[dict[str, Any]]
    comments: list[CommentOut]
    appeals: list[AppealOut]


class ReviewItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    reason: str
    agent_id: int | None
    auto_total: float | None
    done: bool
    created_at: datetime
    alerts: list[str] = []  # the call's live alerts (rule names), whatever the item's reason


class AutoRunOut(BaseModel):
    evaluation_id: int
    total: float
    critical_failed: bool
    review_reasons: list[str]
    seconds: float


# -- agent performance ----------------------------------------------------------------------
class KpisOut(BaseModel):
    """One agent's (or team's) KPIs; ratios are 0–1, ``scores`` 0–100 per KPI (``kpi.toml``)."""

    model_config = ConfigDict(from_attributes=True)

    handled: int
    aht_seconds: float | None
    talk_seconds: float
    hold_seconds: float
    hold_share: float | None
    response: float | None
    fcr: float | None
    csat: float | None
    survey_mean: float | None
    surveys: int
    complaints: int
    complaint_rate: float | None
    qa_average: float | None
    qa_scores: int
    proactive: int
    proactive_rate: float | None
    scores: dict[str, float | None]
    score: float | None
    coverage: float


class AgentPerformanceOut(BaseModel):
    agent_id: int
    username: str
    name: str
    team: str  # "" = in no team
    kpis: KpisOut


class TeamPerformanceOut(BaseModel):
    team: str
    agents: int
    kpis: KpisOut


class PerformanceOut(BaseModel):
    since: datetime
    until: datetime
    timezone: str
    weights: dict[str, float]  # KPI → percent of the overall score
    agents: list[AgentPerformanceOut]
    teams: list[TeamPerformanceOut]  # empty for an agent (they see only themselves)


class TrendDayOut(BaseModel):
    day: date
    kpis: KpisOut


class TrendOut(BaseModel):
    agent_id: int
    name: str
    since: datetime
    until: datetime
    days: list[TrendDayOut]
