"""The IVR menu file: the packaged one loads; a broken one is refused with node and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tingyin.ivr.menu import DEFAULT_MENU, MenuError, fallback_menu, load_menu

BASE = DEFAULT_MENU.read_text(encoding="utf-8")


def broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BASE, old
    path = tmp_path / "menu.toml"
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_packaged_menu_loads() -> None:
    menu = load_menu()
    assert menu.start == "welcome"
    assert menu.node("welcome").branches["0"] == "to_agent"
    assert menu.remedy.amount_fen == 500
    assert "感谢您的来电，再见。" in menu.prompt_texts()
    assert not any("{" in text for text in menu.prompt_texts())  # variables are filled per call


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"3" = "ask_ticket_number"', '"3" = "ask_tiket_number"',
         "nodes.welcome.branches.3: unknown node 'ask_tiket_number'"),
        ('terminator = "#"\nnext = "order_by_number"', 'terminator = "#"\nnext = "nowhere"',
         "nodes.ask_order_number.next: unknown node"),
        ('start = "welcome"', 'start = "hello"', "start: unknown node 'hello'"),
        ('type = "play"\nprompt = "抱歉，没有找到这个订单号。"', 'type = "say"\nprompt = "x"',
         "nodes.order_number_unknown.type: unknown node type"),
        ("min_digits = 6", "min_digits = 40", "nodes.ask_order_number.min_digits"),
        ("min_digits = 12\nmax_digits = 12", "min_digits = 12\nmax_digits = 8",
         "min_digits (12) > max_digits (8)"),
        ('"1" = "order_by_caller"', '"12" = "order_by_caller"', "'12' is not one key"),
        ('not_found = "no_order", error = "to_agent" }', 'not_found = "no_order" }',
         "nodes.order_by_caller: outcomes: order_by_caller needs a node for error"),
        ('action = "order_by_number"', 'action = "order_by_name"',
         "nodes.order_by_number.action"),
        ("timeout = 6.0", "timeout = -1", "defaults.timeout"),
        ('operator_node = "to_agent"', 'operator_node = "agents"',
         "defaults.operator_node: unknown node 'agents'"),
        ('"ask_ticket_number", "0" = "to_agent" }', '"ask_ticket_number", "0" = "goodbye" }',
         "nodes.welcome.branches.0: the operator key always goes to 'to_agent'"),
        ('queue = "customer"', 'queue = "customer"\ncolour = "red"',
         "nodes.to_agent.colour: Extra inputs are not permitted"),
        ('type = "collect"\nprompt = "请输入您的订单号，以井号键结束。"', 'type = "collect"',
         "nodes.ask_order_number.prompt: a collect node must say something"),
    ],
)  # fmt: skip
def test_mistakes_name_node_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(MenuError) as caught:
        load_menu(broken(tmp_path, old, new))
    assert message in str(caught.value)


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    path = broken(tmp_path, '"#"\nnext = "order_by_number"', '"#"\nnext = "a"')
    path.write_text(path.read_text().replace('next = "after_status"', 'next = "b"', 1))
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    text = str(caught.value)
    assert "unknown node 'a'" in text and "unknown node 'b'" in text


def test_a_recorded_prompt_must_exist(tmp_path: Path) -> None:
    path = broken(tmp_path, 'type = "hangup"\nprompt = "感谢您的来电，再见。"',
                  'type = "hangup"\nprompt_wav = "bye.wav"')  # fmt: skip
    with pytest.raises(MenuError, match=r"nodes\.goodbye\.prompt_wav: file not found: bye\.wav"):
        load_menu(path)
    (tmp_path / "bye.wav").write_bytes(b"RIFF")
    assert load_menu(path).node("goodbye").prompt_wav == Path("bye.wav")


def test_not_toml_and_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("start = ", encoding="utf-8")
    with pytest.raises(MenuError, match="not valid TOML"):
        load_menu(bad)
    with pytest.raises(MenuError, match="cannot read IVR menu"):
        load_menu(tmp_path / "missing.toml")


def test_the_check_command(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "tingyin.cli", "ivr", "check"]
    good = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "ok: 19 nodes" in good.stdout
    path = broken(
        tmp_path, 'terminator = "#"\nnext = "order_by_number"', 'terminator = "#"\nnext = "nowhere"'
    )
    bad = subprocess.run([*run, str(path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "nodes.ask_order_number.next: unknown node 'nowhere'" in bad.stderr


def test_the_fallback_menu_greets_then_queues() -> None:
    menu = fallback_menu("您好，欢迎致电。")
    assert menu.start == "welcome"
    assert menu.node("welcome").next == "to_agent"
    assert menu.node("to_agent").type == "queue"
