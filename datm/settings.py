"""datm's settings: one frozen object, read from a config object and ``DATM_*``.

Precedence: defaults, then the config object (a module such as config.py, any
object with upper-case attributes, or a mapping), then the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from datm.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_seconds: float = 10.0
    lastfm_api_key: str | None = None
    lastfm_api_secret: str | None = None
    lastfm_url: str | None = None
    lastfm_ca_file: str | None = None
    lastfm_timeout_seconds: float = 10.0
    lastfm_retries: int = 4
    lastfm_rate_per_second: float = 5.0
    lastfm_cache_artist_seconds: float = 3600.0
    lastfm_cache_correction_seconds: float = 86400.0
    lastfm_cache_similar_seconds: float = 86400.0
    lastfm_cache_search_seconds: float = 600.0
    lastfm_cache_chart_seconds: float = 3600.0
    lastfm_cache_user_seconds: float = 300.0
    lastfm_cache_max_entries: int = 10_000
    redis_url: str | None = None
    redis_timeout_seconds: float = 0.25
    quote_secret: str | None = None
    quote_validity_seconds: float = 15.0
    market_lock_timeout_seconds: float = 60.0
    lock_timeout_seconds: float = 5.0
    session_cache_seconds: float = 10.0

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in ("lastfm_api_secret", "quote_secret", "database_url", "redis_url"):
            if shown[secret]:
                shown[secret] = "<set>"
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @classmethod
    def load(
        cls,
        config: object | Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            key = field.name.upper()
            if isinstance(config, Mapping):
                if key in config:
                    values[field.name] = config[key]
                elif field.name in config:
                    values[field.name] = config[field.name]
            elif config is not None and hasattr(config, key):
                values[field.name] = getattr(config, key)
            if f"DATM_{key}" in env:
                values[field.name] = env[f"DATM_{key}"]
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(cls: type[Settings], name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(cls)}[name]
    if value is None or value == "":
        if "None" in str(kind):
            return None
        raise InvalidInput(name, "must be set")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(name, f"{value!r} is not a number") from None
    return str(value)
