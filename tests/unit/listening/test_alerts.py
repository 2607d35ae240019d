"""The alert engine, sans I/O: events and ``now`` in, alerts out, with transcript text the test
controls (the packaged rules: forbidden agent phrases, caller words, silence 20 s, hold 60 s,
call 600 s, ticket SLA)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tingyin.bus.events import (
    AgentLeg,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallRinging,
    TicketSlaAlert,
    TranscriptFinal,
    TranscriptPartial,
)
from tingyin.listening.alerts import Alert, AlertEngine
from tingyin.listening.rules import AlertRules, load_alert_rules

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CALL = "c1"


@pytest.fixture(scope="module")
def rules() -> AlertRules:
    return load_alert_rules()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def on_call(engine: AlertEngine, call_id: str = CALL, agent: int = 7) -> None:
    """Ringing at 0, answered at 1, the agent bridged at 5."""
    engine.feed(CallRinging(call_id=call_id, sip_call_id="s", worker=0, caller="1", dialed="2"),
                now=at(0))  # fmt: skip
    engine.feed(CallAnswered(call_id=call_id), now=at(1))
    engine.feed(AgentLeg(call_id=call_id, leg_id="l1", state="answered", agent_id=agent), now=at(5))


def said(engine: AlertEngine, leg: str, text: str, start: float, now: float) -> list[Alert]:
    event = TranscriptFinal(call_id=CALL, leg=leg, start=start, end=start + 1, text=text)
    return engine.feed(event, now=at(now))


def test_a_forbidden_phrase_of_the_agent_fires_once(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    assert said(engine, "agent", "您好 请问 有什么 可以 帮您", 4.0, 6) == []
    alerts = said(engine, "agent", "这个 我 也 不 知道", 12.5, 14)  # the recogniser's gaps
    assert alerts == [Alert(CALL, "forbidden_phrase", "phrase", "warning", 12.5, "不知道", 7)]
    assert said(engine, "agent", "真的不知道", 20.0, 21) == []  # that word: once per call
    [again] = said(engine, "agent", "没办法", 25.0, 26)
    assert (again.rule, again.text, again.at_seconds) == ("forbidden_phrase", "没办法", 25.0)
    assert said(engine, "caller", "你们不知道吗", 30.0, 31) == []  # the agent's rule only


def test_the_callers_food_safety_and_anger_words(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    alerts = said(engine, "caller", "我吃了以后过敏了 我要投诉", 8.0, 10)
    assert {(a.rule, a.severity, a.text) for a in alerts} == {
        ("food_safety", "critical", "过敏"),
        ("caller_anger", "warning", "投诉"),
    }
    assert said(engine, "agent", "您是说过敏吗", 11.0, 12) == []  # the caller's words only


def test_partials_do_not_fire_phrases_but_count_as_voice(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    assert engine.feed(TranscriptPartial(call_id=CALL, leg="agent", text="不知道"), now=at(6)) == []
    assert engine.tick(now=at(25)) == []  # silence counts from 6 s, the partial
    [silence] = engine.tick(now=at(26))
    assert (silence.rule, silence.kind, silence.at_seconds) == ("dead_air", "silence", 25.0)


def test_silence_fires_once_a_stretch_and_only_on_transcribed_calls(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    assert engine.tick(now=at(60)) == []  # no words at all yet: no live transcription
    said(engine, "caller", "喂", 61.0, 62)
    assert engine.tick(now=at(81.9)) == []
    [first] = engine.tick(now=at(82))
    assert (first.rule, first.at_seconds, first.text, first.agent_id) == (
        "dead_air",
        81.0,
        "20s",
        7,
    )
    assert engine.tick(now=at(120)) == []  # the same stretch
    said(engine, "agent", "您还在吗", 121.0, 122)
    [second] = engine.tick(now=at(143))
    assert second.at_seconds == 141.0


def test_hold_fires_per_hold_and_silence_waits_while_held(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    said(engine, "agent", "请稍等", 9.0, 10)
    engine.feed(AgentLeg(call_id=CALL, leg_id="l1", state="held", agent_id=7), now=at(11))
    assert engine.tick(now=at(70)) == []  # 59 s held; and music is not dead air
    [held] = engine.tick(now=at(71))
    assert (held.rule, held.kind, held.at_seconds) == ("long_hold", "hold", 70.0)
    engine.feed(AgentLeg(call_id=CALL, leg_id="l1", state="resumed", agent_id=7), now=at(80))
    engine.feed(AgentLeg(call_id=CALL, leg_id="l1", state="held", agent_id=7), now=at(90))
    alerts = engine.tick(now=at(150))
    assert [a.rule for a in alerts] == ["long_hold"] and alerts[0].at_seconds == 149.0


def test_a_long_call(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    engine.feed(AgentLeg(call_id=CALL, leg_id="l1", state="held", agent_id=7), now=at(6))
    engine.tick(now=at(100))
    [long_call] = engine.tick(now=at(601))
    assert (long_call.rule, long_call.severity, long_call.at_seconds) == (
        "long_call",
        "info",
        600.0,
    )
    assert engine.tick(now=at(900)) == []


def test_a_ticket_sla_due_lights_the_call_of_its_caller(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    on_call(engine, "c2", agent=8)
    context = CallerContextReady(call_id=CALL, caller="138****5678", number_kind="mobile",
                                 caller_kind="customer", open_tickets=("2605010001",))  # fmt: skip
    engine.feed(context, now=at(2))
    engine.link_ticket("c2", "2605010002")
    due = TicketSlaAlert(number="2605010001", category="late", priority="P2",
                         clock="resolution", state="warning")  # fmt: skip
    [alert] = engine.feed(due, now=at(31))
    assert (alert.call_id, alert.rule, alert.kind, alert.text, alert.at_seconds) == (
        CALL, "sla_due", "sla", "2605010001", 30.0,
    )  # fmt: skip
    assert engine.feed(due, now=at(40)) == []  # that state of that ticket: once
    breached = TicketSlaAlert(number="2605010002", category="late", priority="P2",
                              clock="resolution", state="breached")  # fmt: skip
    assert [a.call_id for a in engine.feed(breached, now=at(50))] == ["c2"]


def test_the_agent_comes_from_the_state_event_and_an_ended_call_is_forgotten(
    rules: AlertRules,
) -> None:
    engine = AlertEngine(rules)
    engine.feed(CallAnswered(call_id=CALL), now=at(1))  # no ringing seen: started mid-call
    engine.feed(AgentStateChanged(user_id=9, username="a", display_name="A", state="on_call",
                                  call_id=CALL), now=at(2))  # fmt: skip
    [alert] = said(engine, "agent", "不归我管", 3.0, 4)
    assert alert.agent_id == 9
    engine.feed(CallEnded(call_id=CALL, reason="caller"), now=at(10))
    assert engine.calls == {} and engine.tick(now=at(10_000)) == []


def test_the_engine_is_fast(rules: AlertRules) -> None:
    engine = AlertEngine(rules)
    on_call(engine)
    event = TranscriptFinal(call_id=CALL, leg="caller", start=1, end=2, text="我的外卖还没到呢" * 4)
    started = time.perf_counter()
    for n in range(2000):
        engine.feed(event, now=at(10 + n * 0.01))
    per_event = (time.perf_counter() - started) / 2000
    assert per_event < 0.001, f"{per_event * 1e6:.0f} µs per utterance"
