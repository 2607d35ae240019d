from __future__ import annotations

from pathlib import Path

import pytest

from tingyin.config import SettingsError, load_settings
from tingyin.privacy import mask_number, number_from_uri


def test_defaults_and_toml_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tingyin.toml"
    config.write_text('timezone = "Asia/Shanghai"\n[sip]\nworkers = 6\nport = 5070\n')
    monkeypatch.setenv("TINGYIN_SIP__PORT", "5080")
    settings = load_settings(config, data_dir=tmp_path / "d")
    assert settings.sip.workers == 6  # from the file
    assert settings.sip.port == 5080  # the environment beats the file
    assert settings.resolved_database_url.startswith("sqlite:///")
    overridden = load_settings(config, sip={"port": 0})
    assert overridden.sip.port == 0 and overridden.sip.workers == 6  # flags merge, not replace


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('timezone = "Mars/Olympus"', "timezone"),
        ("[sip]\nport = 70000", "sip.port"),
        ('[sip]\ntransports = ["sctp"]', "sip.transports"),
        ('[auth]\nsecret_key = "changeme"', "auth.secret_key"),
        ("[sip]\nuse_kamailio = false\nworkers = 3", "sip"),
        ("nonsense_key = 1", "nonsense_key"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text + "\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config)
    assert field in str(info.value)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[sip\nport = ")
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(config)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_masking_never_shows_a_whole_number() -> None:
    assert mask_number("13812345678") == "138****5678"
    assert mask_number("+8613812345678") == "+86*******5678"
    assert mask_number("110") == "*10"
    assert number_from_uri('"Li" <sip:13812345678@example.com;tag=1>') == "13812345678"
    assert number_from_uri("sip:400800@127.0.0.1:5060") == "400800"


def test_shipped_example_config_loads_and_matches_the_defaults() -> None:
    import tingyin.config

    example = Path(tingyin.config.__file__).with_name("example.toml")
    assert load_settings(example) == load_settings(None)
