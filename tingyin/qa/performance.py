"""Agent performance (坐席绩效), sans-I/O: one call's agent facts from its CDR rows, additive
per-agent counts, the KPIs they give, each KPI as a 0–100 score and the weighted overall score
with the weights of ``config/kpi.toml`` (whose header defines every KPI).

Counts are additive (``AgentTotals``) so a team, a day or a period is the sum of its parts and
its ratios are worked out once from the sums (never an average of averages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tingyin.config.files import explain_with, load_toml_model
from tingyin.reports.figures import ratio

DEFAULT_KPI_FILE = Path(__file__).resolve().parent.parent / "config" / "kpi.toml"
KPIS = ("satisfaction", "response", "resolution", "complaints", "proactive", "qa", "aht", "hold")
NO_TEAM = ""  # agents in no team


class KpiFileError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_Strict):
    satisfied_min: int = Field(default=4, ge=1, le=5)
    answer_seconds: float = Field(default=10.0, gt=0, le=600)
    complaint_score_max: int = Field(default=2, ge=1, le=5)
    complaint_rate_max: float = Field(default=0.05, gt=0, le=1)
    proactive_target: float = Field(default=0.10, gt=0, le=10)
    aht_seconds: float = Field(default=300.0, gt=0)
    hold_share_max: float = Field(default=0.20, gt=0, le=1)


class KpiConfig(_Strict):
    weights: dict[str, float]
    targets: Targets = Field(default_factory=Targets)
    teams: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        problems = [
            f"unknown KPI {k!r} (one of {', '.join(KPIS)})" for k in weights if k not in KPIS
        ]
        problems += [
            f"{k} = {w}: a weight is 0 to 100" for k, w in weights.items() if not 0 <= w <= 100
        ]
        total = sum(weights.values())
        if not problems and abs(total - 100) > 1e-6:
            problems.append(f"the weights add up to {total:g}, not 100")
        if problems:
            raise ValueError("; ".join(problems))
        return {k: float(w) for k, w in weights.items() if w}

    @model_validator(mode="after")
    def _one_team_each(self) -> KpiConfig:
        seen: dict[str, str] = {}
        for team, names in self.teams.items():
            if not team.strip():
                raise ValueError("a team needs a name")
            for name in names:
                if name in seen and seen[name] != team:
                    raise ValueError(f"agent {name!r} is in two teams: {seen[name]} and {team}")
                seen[name] = team
        return self

    def team_of(self, username: str) -> str:
        for team, names in self.teams.items():
            if username in names:
                return team
        return NO_TEAM


def _where(loc: list[int | str], data: dict[str, Any]) -> str:
    return "[" + str(loc[0]) + "]" + ("" if len(loc) < 2 else " " + ".".join(map(str, loc[1:])))


def load_kpi_config(path: Path | None = None) -> KpiConfig:
    return load_toml_model(
        path or DEFAULT_KPI_FILE, KpiConfig, "KPI file", KpiFileError, explain_with(_where)
    )


# -- counts ---------------------------------------------------------------------------------
@dataclass
class AgentTotals:
    """Additive counts of one agent (or a team) over some time."""

    handled: int = 0  # calls the agent talked on
    talk_seconds: float = 0.0  # bridged to the caller, hold included
    hold_seconds: float = 0.0
    wrap_seconds: float = 0.0
    offered: int = 0  # times the agent's phone rang for a call
    answered_fast: int = 0  # … answered within answer_seconds
    fcr_eligible: int = 0
    fcr_repeat: int = 0
    surveys: int = 0
    satisfied: int = 0
    survey_points: int = 0
    complaints: int = 0
    qa_scores: int = 0
    qa_points: float = 0.0
    proactive: int = 0  # outbound calls talked on

    def add(self, other: AgentTotals) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @classmethod
    def sum(cls, items: Iterable[AgentTotals]) -> AgentTotals:
        total = cls()
        for item in items:
            total.add(item)
        return total

    def add_survey(self, score: int, targets: Targets) -> None:
        if 1 <= score <= 5:
            self.surveys += 1
            self.survey_points += score
            self.satisfied += score >= targets.satisfied_min
            self.complaints += score <= targets.complaint_score_max

    def add_qa(self, total: float) -> None:
        self.qa_scores += 1
        self.qa_points += total


@dataclass
class _Leg:
    agent_id: int
    rang: datetime | None = None
    answered: datetime | None = None
    held: datetime | None = None
    hold: float = 0.0
    talk: float = 0.0
    done: bool = False


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


def call_agents(
    rows: Iterable[tuple[datetime, dict[str, Any]]],
    *,
    ended_at: datetime | None,
    outbound: bool,
    answer_seconds: float,
) -> dict[int, AgentTotals]:
    """Per agent, what one call adds, from its ``agent_leg`` rows (at, data) in time order.

    Talk runs from a leg's answer to its end (hold included, as in the reports' AHT); hold
    from ``held`` to ``resumed`` or the end. A leg answered without ringing first (a softphone
    that picks up by itself) counts as answered at once."""
    legs: dict[str, _Leg] = {}
    for at, data in rows:
        leg_id, state = str(data.get("leg_id") or ""), data.get("state")
        agent = int(data.get("agent_id") or 0)
        leg = legs.get(leg_id)
        if leg is None:
            if not agent:
                continue
            leg = legs[leg_id] = _Leg(agent)
        if leg.done:
            continue
        if state == "ringing":
            leg.rang = leg.rang or at
        elif state == "answered" and leg.answered is None:
            leg.answered = at
        elif state == "held" and leg.answered is not None and leg.held is None:
            leg.held = at
        elif state == "resumed" and leg.held is not None:
            leg.hold += _seconds(at, leg.held)
            leg.held = None
        elif state in ("ended", "failed"):
            _close(leg, at)
    out: dict[int, AgentTotals] = {}
    for leg in legs.values():
        if not leg.done and ended_at is not None:
            _close(leg, ended_at)
        t = out.setdefault(leg.agent_id, AgentTotals())
        t.offered += 1
        if leg.answered is not None:
            waited = _seconds(leg.answered, leg.rang) if leg.rang else 0.0
            t.answered_fast += waited <= answer_seconds
            t.handled = 1
            t.talk_seconds += leg.talk
            t.hold_seconds += leg.hold
    for t in out.values():
        t.proactive = int(outbound and t.handled > 0)
    return out


def _close(leg: _Leg, at: datetime) -> None:
    if leg.answered is not None:
        leg.talk = _seconds(at, leg.answered)
        if leg.held is not None:
            leg.hold += _seconds(at, leg.held)
            leg.held = None
    leg.done = True


# -- KPIs and scores --------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpis:
    handled: int
    aht_seconds: float | None
    talk_seconds: float
    hold_seconds: float
    hold_share: float | None  # hold / talk
    response: float | None  # offers answered within answer_seconds / offers
    fcr: float | None
    csat: float | None
    survey_mean: float | None
    surveys: int
    complaints: int
    complaint_rate: float | None  # per handled call
    qa_average: float | None
    qa_scores: int
    proactive: int
    proactive_rate: float | None  # per handled call
    scores: dict[str, float | None] = field(default_factory=dict)  # KPI → 0–100
    score: float | None = None  # weighted overall
    coverage: float = 0.0  # share of the weight whose KPI had data


def _clamp(value: float) -> float:
    return round(min(100.0, max(0.0, value)), 1)


def normalised(k: Kpis, targets: Targets) -> dict[str, float | None]:
    """Each KPI as 0–100 (None without data), as ``config/kpi.toml`` describes."""

    def scaled(value: float | None, fn: Any) -> float | None:
        return None if value is None else _clamp(fn(value))

    return {
        "satisfaction": scaled(k.csat, lambda v: v * 100),
        "response": scaled(k.response, lambda v: v * 100),
        "resolution": scaled(k.fcr, lambda v: v * 100),
        "complaints": scaled(
            k.complaint_rate, lambda v: 100 * (1 - v / targets.complaint_rate_max)
        ),
        "proactive": scaled(k.proactive_rate, lambda v: 100 * v / targets.proactive_target),
        "qa": scaled(k.qa_average, lambda v: v),
        "aht": scaled(k.aht_seconds, lambda v: 100 * (2 - v / targets.aht_seconds)),
        "hold": scaled(k.hold_share, lambda v: 100 * (1 - v / targets.hold_share_max)),
    }


def weighted(
    scores: Mapping[str, float | None], weights: Mapping[str, float]
) -> tuple[float | None, float]:
    """The overall score over the KPIs with data (their weights scaled up to 100), and the
    share of the configured weight those KPIs hold."""
    have = {k: w for k, w in weights.items() if scores.get(k) is not None}
    total = sum(have.values())
    if not total:
        return None, 0.0
    score = sum(w * float(scores[k] or 0) for k, w in have.items()) / total
    return round(score, 1), round(total / sum(weights.values()), 3)


def kpis(t: AgentTotals, config: KpiConfig) -> Kpis:
    base = Kpis(
        handled=t.handled,
        aht_seconds=ratio(t.talk_seconds + t.wrap_seconds, t.handled),
        talk_seconds=t.talk_seconds,
        hold_seconds=t.hold_seconds,
        hold_share=ratio(t.hold_seconds, t.talk_seconds),
        response=ratio(t.answered_fast, t.offered),
        fcr=ratio(t.fcr_eligible - t.fcr_repeat, t.fcr_eligible),
        csat=ratio(t.satisfied, t.surveys),
        survey_mean=ratio(t.survey_points, t.surveys),
        surveys=t.surveys,
        complaints=t.complaints,
        complaint_rate=ratio(t.complaints, t.handled),
        qa_average=ratio(t.qa_points, t.qa_scores),
        qa_scores=t.qa_scores,
        proactive=t.proactive,
        proactive_rate=ratio(t.proactive, t.handled),
    )
    scores = normalised(base, config.targets)
    score, coverage = weighted(scores, config.weights)
    return Kpis(**{**base.__dict__, "scores": scores, "score": score, "coverage": coverage})
