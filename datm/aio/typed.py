"""The async views' types: one Protocol per service, written by
``tools/aio_types.py`` from the services (do not edit; run it again).

``AsyncServices`` declares its attributes with them, so that a type checker knows
``await services.trading.buy(...)`` is a ``TradeReceipt``. At run time the views
are ``datm.aio.AsyncService`` objects, which these Protocols describe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import date

    from datm.domain.artist import Artist
    from datm.domain.lastfm import ArtistRef, ChartArtist, UserProfile
    from datm.domain.sessions import Session
    from datm.services.audit import AuditReport
    from datm.services.close import Progress, StepListener
    from datm.services.results import (
        ArtistBasic,
        ArtistGain,
        ArtistLastfmData,
        ArtistLight,
        ArtistSummary,
        CloseReport,
        Counts,
        HistoryEntry,
        LeaderboardEntry,
        LeagueView,
        LoginLink,
        LoginResult,
        MarketData,
        MarketStatus,
        PlayerProfile,
        ResetResult,
        SignedQuote,
        TradedArtist,
        TradeReceipt,
        TradeView,
    )


@runtime_checkable
class AsyncSessionChecker(Protocol):
    """``session_checker``: SessionChecker's methods, awaited."""

    async def forget(self, session: Session) -> None: ...
    def player_gone(self, session: Session) -> AbstractAsyncContextManager[None]: ...
    async def require(self, session_key: str | None) -> Session: ...


@runtime_checkable
class AsyncArtistResolver(Protocol):
    """``artist_resolver``: ArtistResolver's methods, awaited."""

    async def resolve(self, ref: str) -> ArtistRef: ...


@runtime_checkable
class AsyncArtistLister(Protocol):
    """``artist_lister``: ArtistLister's methods, awaited."""

    async def ensure_listed(self, ref: str) -> Artist: ...
    async def listed(self, mbid: str) -> Artist: ...
    async def mbid_of(self, ref: str) -> str: ...


@runtime_checkable
class AsyncAuthService(Protocol):
    """``auth``: AuthService's methods, awaited."""

    async def api_key(self) -> str: ...
    async def check(self, session_key: str) -> str: ...
    async def login(self, token: str) -> LoginResult: ...
    async def login_link(self, callback: str | None = None) -> LoginLink: ...


@runtime_checkable
class AsyncArtistService(Protocol):
    """``artist``: ArtistService's methods, awaited."""

    async def basic(self, artist: str) -> ArtistBasic: ...
    async def chart(self, limit: int = 10, page: int = 1) -> list[ChartArtist]: ...
    async def country_chart(
        self, country: str, limit: int = 10, page: int = 1
    ) -> list[ArtistRef]: ...
    async def lastfm_data(self, artist: str) -> ArtistLastfmData: ...
    async def light(self, artist: str) -> ArtistLight: ...
    async def search(self, query: str, limit: int = 10, page: int = 1) -> list[ArtistRef]: ...
    async def similar(self, artist: str, limit: int = 10) -> list[ArtistRef]: ...
    async def tag_chart(self, tag: str, limit: int = 10, page: int = 1) -> list[ArtistRef]: ...
    async def user_profile(self, user: str) -> UserProfile: ...


@runtime_checkable
class AsyncMarketService(Protocol):
    """``market``: MarketService's methods, awaited."""

    async def chart(self, limit: int = 10, page: int = 1) -> list[MarketData]: ...
    async def history(self, artist: str, days: int) -> list[HistoryEntry]: ...
    async def market_data(self, artist: str, player: str | None = None) -> MarketData: ...
    async def most_traded(self, limit: int = 10, days: int | None = None) -> list[TradedArtist]: ...
    async def recent_trades(self, limit: int = 10) -> list[TradeView]: ...
    async def recommendations(self, session_key: str, limit: int = 10) -> list[ArtistLight]: ...
    async def top_by_gain(self, limit: int = 10, days: int = 7) -> list[ArtistGain]: ...
    async def top_by_price(self, limit: int = 10) -> list[MarketData]: ...


@runtime_checkable
class AsyncTradingService(Protocol):
    """``trading``: TradingService's methods, awaited."""

    async def buy(self, session_key: str, signed_quote: str) -> TradeReceipt: ...
    async def quote(self, session_key: str, artist: str, side: str) -> SignedQuote: ...
    async def receipt(self, session_key: str, signed_quote: str) -> TradeReceipt | None: ...
    async def sell(self, session_key: str, signed_quote: str) -> TradeReceipt: ...


@runtime_checkable
class AsyncPlayerService(Protocol):
    """``player``: PlayerService's methods, awaited."""

    async def delete(self, session_key: str) -> None: ...
    async def money(self, session_key: str) -> int: ...
    async def profile(self, name: str, with_images: bool = True) -> PlayerProfile: ...
    async def reset(self, session_key: str) -> ResetResult: ...


@runtime_checkable
class AsyncLeagueService(Protocol):
    """``league``: LeagueService's methods, awaited."""

    async def leagues(self) -> list[LeagueView]: ...
    async def near(self, player: str, days: int = 0) -> list[LeaderboardEntry]: ...
    async def position(self, player: str, days: int = 0) -> LeaderboardEntry: ...
    async def rebuild(self) -> int: ...
    async def top(self, league: str, limit: int = 10, days: int = 0) -> list[LeaderboardEntry]: ...


@runtime_checkable
class AsyncCloseService(Protocol):
    """``close``: CloseService's methods, awaited."""

    async def run(
        self,
        day: date | None = None,
        progress: Progress | None = None,
        on_step: StepListener | None = None,
    ) -> CloseReport: ...


@runtime_checkable
class AsyncAnalyticsService(Protocol):
    """``analytics``: AnalyticsService's methods, awaited."""

    async def acquire_market_lock(self, timeout: float | None = None) -> None: ...
    def artists(self, batch_size: int = 200) -> AsyncIterator[list[ArtistSummary]]: ...
    async def counts(self, days: int = 7) -> Counts: ...
    def hold_market_lock(
        self, timeout: float | None = None
    ) -> AbstractAsyncContextManager[None]: ...
    async def is_market_open(self) -> bool: ...
    async def market_status(self) -> MarketStatus: ...
    async def release_market_lock(self) -> None: ...


@runtime_checkable
class AsyncAuditService(Protocol):
    """``audit``: AuditService's methods, awaited."""

    async def audit(self) -> AuditReport: ...
