"""The composition root: build an injector for the api, analytics, web or tests.

Configuration is checked here, once: ``Settings`` refuses every bad value, and
``modules_for`` what the chosen wiring needs but the settings or the installed
extras do not give it. A provider never meets a bad setting.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from injector import Injector, Module

from datm.domain.errors import ConfigurationError, InvalidInput
from datm.ports.clock import Clock
from datm.settings import Settings
from datm.settings.rules import DATABASE_URL_ALLOWED
from datm.wiring.modules import (
    InMemoryModule,
    LastfmOnlyModule,
    OfflineLastfmModule,
    ServicesModule,
    SettingsModule,
)

Wiring = Literal["auto", "memory", "web", "postgres"]

__all__ = [
    "InMemoryModule",
    "LastfmOnlyModule",
    "OfflineLastfmModule",
    "ServicesModule",
    "SettingsModule",
    "Wiring",
    "create_injector",
    "modules_for",
]


def modules_for(
    settings: Settings, wiring: Wiring = "auto", clock: Clock | None = None
) -> list[Module]:
    """The modules of one configuration. ``auto`` picks Postgres when a database
    URL is set and the in-memory store otherwise; ``web`` is last.fm only. last.fm
    is the real one when an API key is set, else the offline catalogue."""
    if wiring == "auto":
        wiring = "postgres" if settings.database_url else "memory"
    if wiring not in ("memory", "web", "postgres"):
        raise InvalidInput("wiring", f"unknown wiring {wiring!r}")  # code, not configuration
    if wiring == "postgres" and not settings.database_url:
        raise ConfigurationError(
            "DATABASE_URL", "unset, and the postgres wiring needs it", DATABASE_URL_ALLOWED
        )
    lastfm: Module = OfflineLastfmModule()
    if settings.lastfm_api_key:
        # The Redis client is imported by the provider, at the first last.fm call:
        # its absence is found now instead.
        if settings.redis_url and not _installed("redis", "dogpile", "limits"):
            raise _missing_extra("REDIS_URL", "redis", "unset REDIS_URL")
        try:
            from datm.wiring.lastfm import LastfmModule  # imports pylast: only here
        except ImportError as error:
            if _ours(error):
                raise
            hint = "unset LASTFM_API_KEY for the offline catalogue"
            raise _missing_extra("LASTFM_API_KEY", "lastfm", hint, error) from None
        lastfm = LastfmModule()
    base: list[Module] = [SettingsModule(settings, clock), lastfm, ServicesModule()]
    if wiring == "memory":
        return [*base, InMemoryModule()]
    if wiring == "web":
        return [*base, LastfmOnlyModule()]
    try:
        from datm.wiring.postgres import PostgresModule  # imports SQLAlchemy: only here
    except ImportError as error:
        if _ours(error):
            raise
        raise _missing_extra("DATABASE_URL", "postgres", "", error) from None
    return [*base, PostgresModule()]


def _installed(*packages: str) -> bool:
    # find_spec of a top-level name imports nothing.
    return all(importlib.util.find_spec(package) is not None for package in packages)


def _ours(error: ImportError) -> bool:
    # A bug in datm's own modules, not a missing extra: let it show as it is.
    return (error.name or "").split(".")[0] == "datm"


def _missing_extra(
    setting: str, extra: str, instead: str, error: ImportError | None = None
) -> ConfigurationError:
    missing = f" ({error.name} cannot be imported)" if error is not None and error.name else ""
    allowed = f"pip install 'datm[{extra}]'" + (f", or {instead}" if instead else "")
    return ConfigurationError(
        setting, f"set, but the {extra} extra is not installed{missing}", allowed
    )


def create_injector(
    config: object | Mapping[str, Any] | None = None,
    *,
    wiring: Wiring = "auto",
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    extra: Sequence[Module] = (),
) -> Injector:
    """An injector for one program; ``extra`` modules override bindings (tests).

    ``config``: a ``Settings`` (used as it is: the environment is not read), or a
    config object for ``Settings.load`` with ``environ`` (default: the process's).
    A bad configuration raises ``ConfigurationError`` here, naming each bad setting
    and what it accepts, and never showing a value."""
    settings = config if isinstance(config, Settings) else Settings.load(config, environ)
    return Injector([*modules_for(settings, wiring, clock), *extra], auto_bind=False)
