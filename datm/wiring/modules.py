"""injector modules, one per concern; ``datm.wiring`` combines them per program.

Providers do no IO: the in-memory store, the offline catalogue and the stand-ins
are built lazily and once (singletons). A provider that builds something holding
a connection registers how to close it in the injector's ``Resources``
(``datm.lifecycle``), which ``datm.close(injector)`` closes.
"""

from __future__ import annotations

from injector import Binder, Module, provider, singleton

from datm.adapters.clock import SystemClock
from datm.adapters.memory.audit import InMemoryAuditChecks
from datm.adapters.memory.close_book import InMemoryCloseBook
from datm.adapters.memory.market import InMemoryMarketLock
from datm.adapters.memory.market_reads import InMemoryMarketReads
from datm.adapters.memory.player_reads import InMemoryPlayerReads
from datm.adapters.memory.rankings import InMemoryArtistRankings
from datm.adapters.memory.standings import NoLeaderboard, ScanStandings
from datm.adapters.memory.store import InMemoryStore
from datm.adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.adapters.quote_secret import ConfiguredQuoteSecret, RandomQuoteSecret
from datm.adapters.unavailable import (
    NoArtistRankings,
    NoAuditChecks,
    NoCloseBook,
    NoDatabase,
    NoMarketLock,
    NoMarketReads,
    NoPlayerReads,
    NoQuoteSecret,
)
from datm.lifecycle import Resources
from datm.ports.audit import AuditChecks
from datm.ports.clock import Clock
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard, Standings
from datm.ports.market import MarketLock
from datm.ports.market_reads import ArtistRankings, MarketReads
from datm.ports.player_reads import PlayerReads
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.analytics import AnalyticsService
from datm.services.artist_resolution import ArtistLister, ArtistResolver
from datm.services.artists import ArtistService
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.leagues import LeagueService
from datm.services.market import MarketService
from datm.services.players import PlayerService
from datm.services.sessions import SessionChecker
from datm.services.trading import TradingService
from datm.settings import Settings

SERVICES: tuple[type, ...] = (
    SessionChecker,
    ArtistResolver,
    ArtistLister,
    AuthService,
    ArtistService,
    MarketService,
    TradingService,
    PlayerService,
    LeagueService,
    CloseService,
    AnalyticsService,
    AuditService,
)


class ServicesModule(Module):
    """Binds every service (stateless, thread-safe) once; ``auto_bind`` stays off so
    that a missing port fails when the injector is built, not mid-request."""

    def configure(self, binder: Binder) -> None:
        for service in SERVICES:
            binder.bind(service, scope=singleton)


class SettingsModule(Module):
    """Binds the frozen settings, the clock every program shares, and the
    injector's ``Resources`` (one per injector, even if modules are reused)."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()

    def configure(self, binder: Binder) -> None:
        binder.bind(Settings, to=self._settings)
        binder.bind(Clock, to=self._clock)  # type: ignore[type-abstract]
        binder.bind(Resources, to=Resources, scope=singleton)


class OfflineLastfmModule(Module):
    """last.fm from the bundled offline catalogue: no network."""

    @singleton
    @provider
    def lastfm(self, clock: Clock, settings: Settings) -> LastfmPort:
        return OfflineLastfm(clock, api_key="offline")


class InMemoryModule(Module):
    """The game database in this process's memory: tests and the demo."""

    @singleton
    @provider
    def store(self, settings: Settings) -> InMemoryStore:
        return InMemoryStore(lock_timeout=settings.lock_timeout_seconds)

    @singleton
    @provider
    def uow_factory(self, store: InMemoryStore, clock: Clock) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store, clock)

    @singleton
    @provider
    def close_book(self, store: InMemoryStore) -> CloseBook:
        return InMemoryCloseBook(store)

    @singleton
    @provider
    def market_reads(self, uow: UnitOfWorkFactory) -> MarketReads:
        return InMemoryMarketReads(uow)

    @singleton
    @provider
    def artist_rankings(self, store: InMemoryStore) -> ArtistRankings:
        return InMemoryArtistRankings(store)

    @singleton
    @provider
    def player_reads(self, store: InMemoryStore) -> PlayerReads:
        return InMemoryPlayerReads(store)

    @singleton
    @provider
    def audit_checks(self, store: InMemoryStore) -> AuditChecks:
        return InMemoryAuditChecks(store)

    @singleton
    @provider
    def standings(self, uow: UnitOfWorkFactory) -> Standings:
        return ScanStandings(uow)

    @singleton
    @provider
    def leaderboard(self) -> Leaderboard:
        return NoLeaderboard()  # the store's boards are small: counted each time

    @singleton
    @provider
    def market_lock(self, store: InMemoryStore) -> MarketLock:
        # Not in Resources: the store lives and dies with the process, so there is
        # nothing to give back, and in-memory services go on working after close.
        return InMemoryMarketLock(store)

    @singleton
    @provider
    def quote_secret(self, settings: Settings) -> QuoteSecret:
        # One process owns an in-memory store, so a random secret is enough.
        if settings.quote_secret:
            return ConfiguredQuoteSecret(settings.quote_secret)
        return RandomQuoteSecret()


class LastfmOnlyModule(Module):
    """The web's wiring: no database. Its ports fail at once with CapabilityError."""

    def configure(self, binder: Binder) -> None:
        binder.bind(UnitOfWorkFactory, to=NoDatabase(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(MarketLock, to=NoMarketLock(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(CloseBook, to=NoCloseBook(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(MarketReads, to=NoMarketReads(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(ArtistRankings, to=NoArtistRankings(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(QuoteSecret, to=NoQuoteSecret(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(PlayerReads, to=NoPlayerReads(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(AuditChecks, to=NoAuditChecks(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(Leaderboard, to=NoLeaderboard(), scope=singleton)  # type: ignore[type-abstract]
        binder.bind(Standings, to=ScanStandings(NoDatabase()), scope=singleton)  # type: ignore[type-abstract]
