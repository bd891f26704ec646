"""The test harness: one game (injector, manual clock, offline last.fm) and what
tests do with it again and again. ``tests/conftest.py`` builds it per backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import expected
from injector import Injector

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.lastfm import ChartArtist
from datm.domain.player import LedgerEntry
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.analytics import AnalyticsService
from datm.services.artists import ArtistService
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.leagues import LeagueService
from datm.services.market import MarketService
from datm.services.players import PlayerService
from datm.services.results import (
    ArtistSummary,
    Counts,
    LoginResult,
    PlayerProfile,
    TradeReceipt,
    TradeView,
)
from datm.services.trading import TradingService

START = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday; day 1 of the offline catalogue
QUOTE_SECRET = "test-secret-0123456789"

T = TypeVar("T")


def unique_name(prefix: str = "player") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused call must leave as it was."""

    players: tuple[tuple[int, PlayerProfile, tuple[LedgerEntry, ...]], ...]
    trades: tuple[TradeView, ...]
    artists: tuple[ArtistSummary, ...]
    counts: Counts
    audit_ok: bool


@dataclass
class Game:
    """One test's game: the injector of a wiring, its manual clock and offline last.fm."""

    injector: Injector
    clock: ManualClock
    lastfm: OfflineLastfm

    def get(self, cls: type[T]) -> T:
        return self.injector.get(cls)

    # services ---------------------------------------------------------------
    @property
    def auth(self) -> AuthService:
        return self.get(AuthService)

    @property
    def artists(self) -> ArtistService:
        return self.get(ArtistService)

    @property
    def market(self) -> MarketService:
        return self.get(MarketService)

    @property
    def trading(self) -> TradingService:
        return self.get(TradingService)

    @property
    def players(self) -> PlayerService:
        return self.get(PlayerService)

    @property
    def leagues(self) -> LeagueService:
        return self.get(LeagueService)

    @property
    def close(self) -> CloseService:
        return self.get(CloseService)

    @property
    def analytics(self) -> AnalyticsService:
        return self.get(AnalyticsService)

    @property
    def audit(self) -> AuditService:
        return self.get(AuditService)

    # players ----------------------------------------------------------------
    def login(self, name: str | None = None) -> LoginResult:
        """The offline last.fm flow: a link, the user allows it, the game logs in."""
        link = self.auth.login_link()
        assert link.token is not None
        self.lastfm.authorise(link.token, name or unique_name())
        return self.auth.login(link.token)

    def login_until(self, players: int) -> list[LoginResult]:
        """Log new players in until the game has ``players`` of them."""
        count = self.analytics.counts().players
        return [self.login() for _ in range(max(0, players - count))]

    def ledger(self, name: str) -> list[LedgerEntry]:
        """The player's ledger, read through the unit-of-work port."""
        with self.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
            return uow.ledger.for_player(name)

    # catalogue --------------------------------------------------------------
    def chart(self) -> list[ChartArtist]:
        """Today's last.fm chart of the whole catalogue (50 artists)."""
        return self.lastfm.chart_top_artists(50, 1)

    def top_listeners(self) -> int:
        return self.lastfm.chart_top_artists(1, 1)[0].listeners

    def numbers(self, mbid: str) -> tuple[int, int]:
        """Today's (listeners, playcount) of an artist, through the last.fm port."""
        info = self.lastfm.artist_info(mbid=mbid)
        return info.listeners, info.playcount

    def listing_price(self, mbid: str) -> int:
        """The price the artist would list at today, by game-rules.md."""
        return expected.listing_price(*self.numbers(mbid))

    def affordable(self, budget: int = expected.STARTING_MONEY) -> list[ChartArtist]:
        """Artists with an MBID that list at ``budget`` or less, in chart order."""
        return [a for a in self.chart() if a.mbid and self.listing_price(a.mbid) <= budget]

    def cheapest(self, count: int) -> list[ChartArtist]:
        """The ``count`` artists with an MBID that list cheapest, cheapest first."""
        listed = [a for a in self.chart() if a.mbid]
        return sorted(listed, key=lambda a: self.listing_price(a.mbid))[:count]

    def too_expensive(self) -> ChartArtist:
        """An artist that lists above a new player's money."""
        limit = expected.STARTING_MONEY
        return next(a for a in self.chart() if a.mbid and self.listing_price(a.mbid) > limit)

    def without_mbid(self) -> ChartArtist:
        return next(a for a in self.chart() if not a.mbid)

    # trading and time -------------------------------------------------------
    def buy(self, who: LoginResult, artist: str) -> TradeReceipt:
        quote = self.trading.quote(who.session_key, artist, "buy")
        return self.trading.buy(who.session_key, quote.token)

    def sell(self, who: LoginResult, artist: str) -> TradeReceipt:
        quote = self.trading.quote(who.session_key, artist, "sell")
        return self.trading.sell(who.session_key, quote.token)

    def next_day(self, days: int = 1) -> date:
        self.clock.advance(timedelta(days=days))
        return self.clock.today()

    def snapshot(self, *who: LoginResult) -> Snapshot:
        return Snapshot(
            players=tuple(
                (
                    self.players.money(w.session_key),
                    self.players.profile(w.player),
                    tuple(self.ledger(w.player)),
                )
                for w in who
            ),
            trades=tuple(self.market.recent_trades(1000)),
            artists=tuple(a for batch in self.analytics.artists() for a in batch),
            counts=self.analytics.counts(3660),
            audit_ok=self.audit.audit().ok,
        )


@contextmanager
def statements_sent(game: Game) -> Iterator[list[str]]:
    """The SQL the game's Postgres engine sends while the block runs, in order."""
    from sqlalchemy import Engine, event  # Postgres games only

    engine = game.get(Engine)
    sent: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", _count)
