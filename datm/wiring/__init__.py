"""The composition root: build an injector for the api, analytics, web or tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from injector import Injector, Module

from datm.domain.errors import InvalidInput
from datm.ports.clock import Clock
from datm.settings import Settings
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
    lastfm: Module = OfflineLastfmModule()
    if settings.lastfm_api_key:
        from datm.wiring.lastfm import LastfmModule  # imports pylast: only here

        lastfm = LastfmModule()
    base: list[Module] = [SettingsModule(settings, clock), lastfm, ServicesModule()]
    if wiring == "memory":
        return [*base, InMemoryModule()]
    if wiring == "web":
        return [*base, LastfmOnlyModule()]
    if wiring == "postgres":
        if not settings.database_url:
            raise InvalidInput("database_url", "the postgres wiring needs DATM_DATABASE_URL")
        from datm.wiring.postgres import PostgresModule  # imports SQLAlchemy: only here

        return [*base, PostgresModule()]
    raise InvalidInput("wiring", f"unknown wiring {wiring!r}")


def create_injector(
    config: object | Mapping[str, Any] | None = None,
    *,
    wiring: Wiring = "auto",
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    extra: Sequence[Module] = (),
) -> Injector:
    """An injector for one program; ``extra`` modules override bindings (tests)."""
    settings = config if isinstance(config, Settings) else Settings.load(config, environ)
    return Injector([*modules_for(settings, wiring, clock), *extra], auto_bind=False)
