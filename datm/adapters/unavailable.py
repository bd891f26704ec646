"""Stand-ins for what a wiring lacks: every use fails at once, naming the setting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from datm.domain.artist import HistoryPoint
from datm.domain.closes import (
    ArtistNumbers,
    ArtistOfRecord,
    CloseProgressCounts,
    CloseRecord,
    CutOff,
    PaidBatch,
)
from datm.domain.errors import CapabilityError
from datm.ports.audit import AuditChecks, MoneyCheck, ShareCheck
from datm.ports.close import CloseBook
from datm.ports.market import MarketLock, MarketLockHolder
from datm.ports.market_reads import (
    ArtistMarket,
    ArtistRankings,
    GameCounts,
    ListedArtist,
    MarketReads,
    NamedTrade,
)
from datm.ports.player_reads import PlayerReads, PlayerRecord
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

DATABASE = ("database", "DATM_DATABASE_URL (the web's last.fm-only wiring has none)")


class NoDatabase(UnitOfWorkFactory):
    def __call__(self) -> UnitOfWork:
        raise CapabilityError(*DATABASE)


class NoMarketLock(MarketLock):
    def acquire(self, timeout: float) -> None:
        raise CapabilityError(*DATABASE)

    def release(self) -> None:
        raise CapabilityError(*DATABASE)

    def is_open(self) -> bool:
        raise CapabilityError(*DATABASE)

    def holder(self) -> MarketLockHolder | None:
        raise CapabilityError(*DATABASE)

    def close(self) -> None:
        pass  # holds nothing, owns no connection: closing the web's wiring must not fail


class NoPlayerReads(PlayerReads):
    def profile(self, name: str, trades: int) -> PlayerRecord:
        raise CapabilityError(*DATABASE)


class NoAuditChecks(AuditChecks):
    def money(self) -> MoneyCheck:
        raise CapabilityError(*DATABASE)

    def shares(self) -> ShareCheck:
        raise CapabilityError(*DATABASE)


class NoQuoteSecret(QuoteSecret):
    def get(self) -> bytes:
        raise CapabilityError(*DATABASE)


class NoCloseBook(CloseBook):
    """The web's wiring has no database to close: every use fails at once."""

    def record(self, day: date) -> CloseRecord | None:
        raise CapabilityError(*DATABASE)

    def unfinished_before(self, day: date) -> date | None:
        raise CapabilityError(*DATABASE)

    def latest_day(self) -> date | None:
        raise CapabilityError(*DATABASE)

    def cut_off(
        self, day: date, started_at: datetime, top_listeners: int, market: object
    ) -> CutOff:
        raise CapabilityError(*DATABASE)

    def to_fetch(self, day: date, after: str | None, limit: int) -> list[ArtistOfRecord]:
        raise CapabilityError(*DATABASE)

    def store_numbers(self, day: date, numbers: Sequence[ArtistNumbers]) -> int:
        raise CapabilityError(*DATABASE)

    def pay_holders(self, day: date, limit: int, at: datetime) -> PaidBatch:
        raise CapabilityError(*DATABASE)

    def pay_artists(self, day: date, limit: int, at: datetime) -> PaidBatch:
        raise CapabilityError(*DATABASE)

    def progress(self, day: date) -> CloseProgressCounts:
        raise CapabilityError(*DATABASE)

    def kept(self, day: date) -> list[tuple[str, str, str]]:
        raise CapabilityError(*DATABASE)

    def finish(self, day: date, at: datetime) -> bool:
        raise CapabilityError(*DATABASE)


class NoMarketReads(MarketReads):
    def market(self, mbid: str, player: str | None) -> ArtistMarket | None:
        raise CapabilityError(*DATABASE)

    def history(self, mbid: str, since: date) -> list[HistoryPoint]:
        raise CapabilityError(*DATABASE)

    def recent_trades(self, limit: int) -> list[NamedTrade]:
        raise CapabilityError(*DATABASE)

    def most_bought(
        self, limit: int, since: date | None, now: datetime
    ) -> list[tuple[str, str, int]]:
        raise CapabilityError(*DATABASE)

    def counts(self, since: date, now: datetime) -> GameCounts:
        raise CapabilityError(*DATABASE)

    def listed(self, after: str, limit: int) -> list[ListedArtist]:
        raise CapabilityError(*DATABASE)


class NoArtistRankings(ArtistRankings):
    def top_by_price(self, limit: int) -> list[ArtistMarket]:
        raise CapabilityError(*DATABASE)

    def top_by_gain(self, since: date, limit: int) -> list[tuple[ArtistMarket, int]]:
        raise CapabilityError(*DATABASE)
