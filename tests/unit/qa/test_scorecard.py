"""The scorecard file: the packaged one loads; a broken one is refused with every mistake named
by section, item and field; versions are told apart by their content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tingyin.cli import app
from tingyin.qa.checks import DEFAULT_CHECKS, QaChecksError, load_qa_checks
from tingyin.qa.scorecard import DEFAULT_SCORECARD, ScorecardError, load_scorecard

BROKEN = """
id = "delivery-cs"
version = 2
name = "外卖客服"

[[sections]]
id = "opening"
title = "开场"

  [[sections.items]]
  id = "greeting"
  text = "问候"
  answer = "yes_no"
  weight = -5

  [[sections.items]]
  id = "tone"
  text = "语气"
  answer = "scale"
  weight = 5

[[sections]]
id = "handling"
title = "处理"

  [[sections.items]]
  id = "greeting"
  text = "重复的编号"
  answer = "yes_no"
  weight = 5
  critical = true
  auto = "telepathy"

  [[sections.items]]
  id = "remedy"
  text = "补偿"
  answer = "level"
  weight = 5
  colour = "red"
  levels = [{ code = "ok", label = "好", share = 1.5 }]
"""


def test_the_packaged_scorecard_loads() -> None:
    card = load_scorecard()
    assert [s.title for s in card.sections] == ["开场", "核实", "处理", "结束"]
    assert sum(item.weight for item in card.items()) == 100
    resolution = card.resolution_item
    assert [level.label for level in resolution.levels] == ["未解决", "已解决", "满意", "惊喜级"]
    assert {item.id for item in card.items() if item.critical} == {"privacy", "no_forbidden"}
    assert len(card.content_hash) == 64


def test_a_broken_scorecard_names_every_mistake(tmp_path: Path) -> None:
    path = tmp_path / "card.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ScorecardError) as caught:
        load_scorecard(path)
    message = str(caught.value)
    assert str(path) in message
    for expected in (
        "section opening, item greeting, field weight: Input should be greater than 0",
        "section opening, item tone: answer 'scale' needs scale_max",
        "section handling, item greeting: unknown auto check 'telepathy'",
        "section handling, item remedy, field colour: Extra inputs are not permitted",
        "section handling, item remedy, level 1, field share",
    ):
        assert expected in message, message
    # The cross-checks come once the fields themselves are right.
    two_levels = (
        '{ code = "ok", label = "好", share = 1.0 }, { code = "no", label = "差", share = 0 }'
    )
    fixed = (
        BROKEN.replace("weight = -5", "weight = 5")
        .replace('  answer = "scale"\n', '  answer = "scale"\n  scale_max = 5\n')
        .replace('  auto = "telepathy"\n', "")
        .replace('  colour = "red"\n', "")
        .replace('{ code = "ok", label = "好", share = 1.5 }', two_levels)
    )
    path.write_text(fixed, encoding="utf-8")
    with pytest.raises(ScorecardError) as caught:
        load_scorecard(path)
    message = str(caught.value)
    assert "section handling, item greeting: id already used in section opening" in message
    assert "exactly one item must be the resolution item (解决力" in message


def test_an_edit_is_a_new_version(tmp_path: Path) -> None:
    edited = tmp_path / "card.toml"
    edited.write_text(DEFAULT_SCORECARD.read_text(encoding="utf-8") + "\n# 改了注释\n", "utf-8")
    assert load_scorecard(edited).content_hash != load_scorecard().content_hash


def test_the_checks_file_loads_and_refuses_a_bad_pattern(tmp_path: Path) -> None:
    checks = load_qa_checks()
    assert "不知道" in checks.transcript.forbidden
    bad = tmp_path / "checks.toml"
    text = DEFAULT_CHECKS.read_text(encoding="utf-8")
    bad.write_text(text.replace('"今天之内"', '"(今天之内"'), encoding="utf-8")
    with pytest.raises(QaChecksError, match=r"\[transcript\] promised_time_patterns.*regex"):
        load_qa_checks(bad)


def test_tingyin_qa_check(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["qa", "check"])
    assert ok.exit_code == 0, ok.output
    assert "ok: delivery-cs v1" in ok.output and "weights sum to 100" in ok.output
    path = tmp_path / "card.toml"
    path.write_text(BROKEN, encoding="utf-8")
    bad = runner.invoke(app, ["qa", "check", str(path)])
    assert bad.exit_code == 1
    assert "section opening, item tone" in bad.output
