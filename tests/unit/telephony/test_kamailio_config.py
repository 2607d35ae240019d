"""The generated Kamailio config: rendered from a plan and accepted by the real `kamailio -c`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tingyin.telephony.kamailio import (
    MODULES,
    KamailioConfigError,
    KamailioError,
    KamailioPlan,
    KamailioProcess,
    check_config,
    find_module_dir,
    render_config,
    render_dispatcher_list,
    resolve_binary,
    write_files,
)


def make_plan(run_dir: Path, transports: tuple[str, ...] = ("udp", "tcp")) -> KamailioPlan:
    return KamailioPlan(
        listen_host="127.0.0.1",
        listen_port=5070,
        transports=transports,
        workers=(("127.0.0.1", 5081), ("127.0.0.1", 5082), ("worker3.internal", 5083)),
        run_dir=run_dir,
    )


def test_module_dir_holds_every_module_we_load() -> None:
    module_dir = find_module_dir()
    assert module_dir.is_absolute()
    assert all((module_dir / f"{m}.so").is_file() for m in MODULES)


def test_render_config(tmp_path: Path) -> None:
    text = render_config(make_plan(tmp_path))

    assert "@@" not in text
    assert "listen=udp:127.0.0.1:5070\nlisten=tcp:127.0.0.1:5070" in text
    assert "disable_tcp" not in text
    assert f'mpath="{find_module_dir()}"' in text
    assert f'modparam("dispatcher", "list_file", "{tmp_path / "dispatcher.list"}")' in text
    assert 'ds_select_dst("1", "4")' in text


def test_udp_only_disables_tcp(tmp_path: Path) -> None:
    text = render_config(make_plan(tmp_path, ("udp",)))
    assert "disable_tcp=yes" in text
    assert "listen=tcp:" not in text


def test_dispatcher_list(tmp_path: Path) -> None:
    lines = render_dispatcher_list(make_plan(tmp_path)).splitlines()
    assert lines[1:] == [
        "1 sip:127.0.0.1:5081 0 0",
        "1 sip:127.0.0.1:5082 0 0",
        "1 sip:worker3.internal:5083 0 0",
    ]
    v6 = KamailioPlan("::1", 5070, ("udp",), (("::1", 5081),), tmp_path)
    assert render_dispatcher_list(v6).splitlines()[1:] == ["1 sip:[::1]:5081 0 0"]
    assert "listen=udp:[::1]:5070" in render_config(v6)


@pytest.mark.parametrize("transports", [("udp", "tcp"), ("udp",), ("tcp",)])
def test_kamailio_accepts_generated_config(tmp_path: Path, transports: tuple[str, ...]) -> None:
    cfg = write_files(make_plan(tmp_path, transports))
    assert cfg == tmp_path / "kamailio.cfg"
    assert (tmp_path / "dispatcher.list").is_file()
    check_config(cfg)  # raises with kamailio's output if rejected


def test_broken_config_is_reported_with_kamailio_output(tmp_path: Path) -> None:
    cfg = write_files(make_plan(tmp_path))
    cfg.write_text(cfg.read_text() + "\nroute[BROKEN] { no_such_function(); }\n")
    with pytest.raises(KamailioConfigError, match="no_such_function"):
        check_config(cfg)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("transports", ("udp", "tls")),
        ("transports", ()),
        ("workers", ()),
        ("listen_host", "0.0.0.0"),
        ("listen_host", "bad host\nlisten=udp:1.2.3.4"),
        ("listen_port", 0),
        ("workers", (("127.0.0.1", 70000),)),
        ("workers", (("::1", 5081),)),
    ],
)
def test_plan_rejects_bad_values(tmp_path: Path, field: str, value: object) -> None:
    args: dict[str, object] = {
        "listen_host": "127.0.0.1",
        "listen_port": 5070,
        "transports": ("udp",),
        "workers": (("127.0.0.1", 5081),),
        "run_dir": tmp_path,
        field: value,
    }
    with pytest.raises(ValueError):
        KamailioPlan(**args)  # type: ignore[arg-type]


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KamailioError, match="not found"):
        resolve_binary("kamailio-does-not-exist")
    plan = make_plan(tmp_path)
    with pytest.raises(KamailioError, match="not found"):
        KamailioProcess(plan.cfg_path, plan, binary="kamailio-does-not-exist")


def test_command_line(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    cmd = KamailioProcess(plan.cfg_path, plan).command()
    assert cmd[0] == resolve_binary()
    assert cmd[1:] == [
        *("-f", str(tmp_path / "kamailio.cfg"), "-DD", "-E"),
        *("-P", str(tmp_path / "kamailio.pid"), "-Y", str(tmp_path), "-w", str(tmp_path)),
        *("-m", "64", "-M", "8"),
    ]
