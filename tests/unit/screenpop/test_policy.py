from __future__ import annotations

from pathlib import Path

import pytest

from tingyin.screenpop.policy import DEFAULT_POLICY, PolicyError, load_policy


def test_the_packaged_policy_loads() -> None:
    policy = load_policy()
    ids = [rule.id for rule in policy.rules]
    assert ids[0] == "food-safety" and ids[-1] == "fallback"
    assert "过敏" in policy.words.food_safety


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_errors_name_the_rule_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[[rules]]
id = "late-20"
anomaly = "latee"
reason = "late"
reason_label = "x"
remedy = "coupon"
remedy_label = "y"
priority = "very"
""",
    )
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    text = str(err.value)
    assert "rule 1 (late-20), field anomaly" in text
    assert "rule 1 (late-20), field priority" in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[thresholds]\nmax_orders = 0\n[[rules]]\nid='a'\nreason='r'\nreason_label='r'\n"
         "remedy='n'\nremedy_label='n'\n", "thresholds.max_orders"),
        ("[[rules]]\nid='a'\nreason='r'\nreason_label='r'\nremedy='n'\nremedy_label='n'\n"
         "[[rules]]\nid='a'\nreason='r'\nreason_label='r'\nremedy='n'\nremedy_label='n'\n",
         "used twice"),
        ("[[rules]]\nid='a'\nmin_minutes=5\nreason='r'\nreason_label='r'\nremedy='n'\n"
         "remedy_label='n'\n", "min_minutes needs an anomaly"),
        ("[[rules]]\nid='a'\nreason='r'\nreason_label='r'\nremedy='n'\nremedy_label='n'\n"
         "colour='red'\n", "field colour"),
        ("rules = [", "not valid TOML"),
        ("[thresholds]\n", "rules"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        load_policy(_write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")
    assert DEFAULT_POLICY.is_file()
