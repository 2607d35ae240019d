"""Settings: one TOML file plus TINGYIN_* environment variables."""

from tingyin.config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
