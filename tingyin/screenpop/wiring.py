"""Builds the screen pop's parts from the settings (one place for the hub and the web app)."""

from __future__ import annotations

from tingyin.config import Settings
from tingyin.screenpop.cache import CachedOrderSource
from tingyin.screenpop.context import ContextBuilder
from tingyin.screenpop.http_source import HttpOrderSource
from tingyin.screenpop.policy import load_policy
from tingyin.screenpop.sources import OrderSource
from tingyin.screenpop.sql_source import SqlOrderSource
from tingyin.store import Database


def order_source(settings: Settings, db: Database) -> OrderSource:
    conf = settings.screenpop
    source: OrderSource
    if conf.source == "http":
        assert conf.http_url is not None  # the settings refuse http without a URL
        token = conf.http_token.get_secret_value() if conf.http_token is not None else None
        source = HttpOrderSource(conf.http_url, token=token, timeout_s=conf.http_timeout_ms / 1000)
    else:
        source = SqlOrderSource(db)
    if conf.cache_seconds > 0:
        source = CachedOrderSource(source, ttl_s=conf.cache_seconds)
    return source


def context_builder(settings: Settings, db: Database) -> ContextBuilder:
    """Raises PolicyError when the policy file is wrong."""
    policy = load_policy(settings.screenpop.policy_file)
    return ContextBuilder(order_source(settings, db), db, policy, settings.language)
