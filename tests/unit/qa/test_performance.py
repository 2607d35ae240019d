"""Agent performance, the pure part: one call's agent legs, KPIs, 0–100 scores, the weighted
score, and the KPI file's checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tingyin.qa.performance import (
    AgentTotals,
    KpiConfig,
    KpiFileError,
    call_agents,
    kpis,
    load_kpi_config,
    weighted,
)

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def leg(s: float, leg_id: str, state: str, agent: int) -> tuple[datetime, dict[str, Any]]:
    return T0 + timedelta(seconds=s), {"leg_id": leg_id, "state": state, "agent_id": agent}


def test_talk_hold_and_answer_speed_per_agent() -> None:
    rows = [
        leg(0, "a1", "ringing", 1), leg(12, "a1", "failed", 1),  # rang 12 s, not answered
        leg(13, "b1", "ringing", 2), leg(16, "b1", "answered", 2),
        leg(40, "b1", "held", 2), leg(70, "b1", "resumed", 2),
        leg(100, "b1", "held", 2), leg(116, "b1", "ended", 2),  # held to the end: 16 s
        leg(116, "c1", "ringing", 3), leg(130, "c1", "answered", 3),  # transferred, 14 s ring
    ]  # fmt: skip
    out = call_agents(rows, ended_at=T0 + timedelta(seconds=190), outbound=False,
                      answer_seconds=10)  # fmt: skip
    assert set(out) == {1, 2, 3}
    a, b, c = out[1], out[2], out[3]
    assert (a.handled, a.offered, a.answered_fast, a.talk_seconds) == (0, 1, 0, 0.0)
    assert (b.handled, b.offered, b.answered_fast) == (1, 1, 1)
    assert b.talk_seconds == 100 and b.hold_seconds == 30 + 16
    # c's leg has no end row: it talks until the call ended; its ring took 14 s > 10 s.
    assert (c.handled, c.answered_fast, c.talk_seconds, c.hold_seconds) == (1, 0, 60, 0)
    assert not any(t.proactive for t in out.values())


def test_an_outbound_call_is_proactive_and_a_self_answered_leg_is_fast() -> None:
    rows = [leg(0, "o1", "answered", 7), leg(90, "o1", "ended", 7)]
    out = call_agents(rows, ended_at=T0 + timedelta(seconds=95), outbound=True,
                      answer_seconds=5)  # fmt: skip
    t = out[7]
    assert (t.handled, t.proactive, t.offered, t.answered_fast, t.talk_seconds) == (1, 1, 1, 1, 90)


def config(**weights: float) -> KpiConfig:
    return KpiConfig.model_validate(
        {"weights": weights or {"satisfaction": 40, "response": 20, "resolution": 20,
                                "complaints": 10, "proactive": 10}}
    )  # fmt: skip


def test_kpis_scores_and_the_weighted_score() -> None:
    t = AgentTotals(handled=4, talk_seconds=800, hold_seconds=80, wrap_seconds=80, offered=5,
                    answered_fast=4, fcr_eligible=4, fcr_repeat=1, proactive=1)  # fmt: skip
    cfg = config()
    for score in (5, 4, 3, 1):
        t.add_survey(score, cfg.targets)
    t.add_survey(9, cfg.targets)  # not a survey answer: ignored
    t.add_qa(80)
    t.add_qa(90)
    k = kpis(t, cfg)
    assert k.aht_seconds == pytest.approx(880 / 4)
    assert k.hold_share == pytest.approx(0.1) and k.response == pytest.approx(0.8)
    assert k.fcr == pytest.approx(0.75) and k.csat == pytest.approx(0.5)
    assert k.survey_mean == pytest.approx(13 / 4) and k.surveys == 4
    assert k.complaints == 1 and k.complaint_rate == pytest.approx(0.25)
    assert k.qa_average == pytest.approx(85) and k.proactive_rate == pytest.approx(0.25)
    s = k.scores
    assert (s["satisfaction"], s["response"], s["resolution"]) == (50, 80, 75)
    assert s["complaints"] == 0  # 25 % of calls is far over the 5 % that scores 0
    assert s["proactive"] == 100  # 25 % of calls, over the 10 % target
    assert s["qa"] == 85 and s["hold"] == pytest.approx(50)  # hold share 10 % of 20 %
    assert s["aht"] == 100  # 220 s is under the 300 s target
    assert kpis(AgentTotals(handled=1, talk_seconds=450), cfg).scores["aht"] == 50
    assert k.score == pytest.approx((40 * 50 + 20 * 80 + 20 * 75 + 0 + 10 * 100) / 100)
    assert k.coverage == 1.0


def test_kpis_without_data_are_left_out_of_the_score() -> None:
    assert weighted({"satisfaction": None, "response": 90.0}, {"satisfaction": 40,
                    "response": 60}) == (90.0, 0.6)  # fmt: skip
    assert weighted({}, {"response": 100}) == (None, 0.0)
    empty = kpis(AgentTotals(), config())
    assert empty.score is None and empty.aht_seconds is None and empty.complaint_rate is None


def test_the_shipped_kpi_file_loads() -> None:
    cfg = load_kpi_config()
    assert cfg.weights == {"satisfaction": 40, "response": 20, "resolution": 20,
                           "complaints": 10, "proactive": 10}  # fmt: skip
    assert cfg.targets.satisfied_min == 4 and cfg.team_of("nobody") == ""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kpi.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_kpi_file_with_mistakes_is_refused_with_each_one(tmp_path: Path) -> None:
    bad = write(tmp_path, """
[weights]
satisfaction = 50
speed = 30
response = 120

[targets]
satisfied_min = 9
aht_seconds = -1

[teams]
"一组" = ["li"]
"二组" = ["li", "wang"]
""")  # fmt: skip
    with pytest.raises(KpiFileError) as err:
        load_kpi_config(bad)
    text = str(err.value)
    assert str(bad) in text
    assert "[weights]: unknown KPI 'speed'" in text and "response = 120.0" in text
    assert "[targets] satisfied_min" in text and "[targets] aht_seconds" in text
    sums = write(tmp_path, "[weights]\nsatisfaction = 60\nresponse = 30\n")
    with pytest.raises(KpiFileError, match="add up to 90, not 100"):
        load_kpi_config(sums)
    twice = write(tmp_path, '[weights]\nqa = 100\n[teams]\nA = ["li"]\nB = ["li"]\n')
    with pytest.raises(KpiFileError, match="'li' is in two teams: A and B"):
        load_kpi_config(twice)
    with pytest.raises(KpiFileError, match="not valid TOML"):
        load_kpi_config(write(tmp_path, "[weights\n"))
    with pytest.raises(KpiFileError, match="cannot read"):
        load_kpi_config(tmp_path / "missing.toml")
