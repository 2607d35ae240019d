"""The alert rules file: the packaged one loads; each kind of mistake is named with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tingyin.listening.rules import AlertRulesError, load_alert_rules

PHRASE = """
[[phrases]]
name = "forbidden_phrase"
zh = "坐席禁语"
en = "Forbidden phrase"
leg = "agent"
words = ["不知道"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(AlertRulesError) as caught:
        load_alert_rules(path)
    return str(caught.value)


def test_the_packaged_rules_load() -> None:
    rules = load_alert_rules()
    names = {r.name for r in (*rules.phrases, *rules.timers, *rules.sla)}
    assert {"forbidden_phrase", "food_safety", "caller_anger", "dead_air", "long_hold"} <= names
    assert {t.kind for t in rules.timers} == {"silence", "hold", "long_call"}
    forbidden = next(p for p in rules.phrases if p.name == "forbidden_phrase")
    assert forbidden.leg == "agent" and "不知道" in forbidden.words and "没办法" in forbidden.words
    assert rules.labels()["food_safety"] == {"zh": "食品安全", "en": "Food safety",
                                             "severity": "critical"}  # fmt: skip


def test_words_lose_their_spaces(tmp_path: Path) -> None:
    rules = load_alert_rules(write(tmp_path, PHRASE.replace('"不知道"', '"不 知道", "没办法"')))
    assert rules.phrases[0].words == ("不知道", "没办法")
    assert rules.phrases[0].severity == "warning"  # the default


def test_a_bad_field_is_named_with_its_rule(tmp_path: Path) -> None:
    text = PHRASE + PHRASE.replace("forbidden_phrase", "anger").replace('"agent"', '"customer"')
    message = error_of(write(tmp_path, text))
    assert "alert rules" in message and str(tmp_path / "alerts.toml") in message
    assert "phrase rule 2 (anger), field leg:" in message


def test_timer_mistakes(tmp_path: Path) -> None:
    text = """
[[timers]]
name = "dead_air"
zh = "静音"
en = "Dead air"
kind = "silence"
seconds = 0
severity = "loud"
colour = "red"
"""
    message = error_of(write(tmp_path, text))
    assert "timer rule 1 (dead_air), field seconds: Input should be greater than 0" in message
    assert "timer rule 1 (dead_air), field severity:" in message
    assert "timer rule 1 (dead_air), field colour: Extra inputs are not permitted" in message


def test_an_empty_word_and_an_empty_list(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, PHRASE.replace('["不知道"]', '["不知道", "  "]')))
    assert "phrase rule 1 (forbidden_phrase), field words: word 2 is empty" in message
    message = error_of(write(tmp_path, PHRASE.replace('["不知道"]', "[]")))
    assert "phrase rule 1 (forbidden_phrase), field words:" in message


def test_names_are_unique_across_sections(tmp_path: Path) -> None:
    text = (
        PHRASE
        + '\n[[sla]]\nname = "forbidden_phrase"\nzh = "工单"\nen = "SLA"\nstates = ["warning"]\n'
    )
    message = error_of(write(tmp_path, text))
    assert (
        "sla rule 1 (forbidden_phrase), field name: used by phrase rule 1 (forbidden_phrase)"
        in (message)
    )


def test_unreadable_and_not_toml(tmp_path: Path) -> None:
    assert "cannot read alert rules" in error_of(tmp_path / "missing.toml")
    assert "is not valid TOML" in error_of(write(tmp_path, "[[phrases]\nname ="))
