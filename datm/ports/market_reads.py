"""Read models of the market: summaries a backend may keep, and the market's
reads of one artist or of the newest trades, each in one statement on Postgres."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from datm.domain.artist import Artist, HistoryPoint
from datm.domain.quotes import Side


@dataclass(frozen=True, slots=True)
class GameCounts:
    players: int
    listed_artists: int
    trades_per_day: tuple[tuple[date, int], ...]  # days with trades, oldest first


@dataclass(frozen=True, slots=True)
class ArtistMarket:
    """A listed artist with what its latest close paid, as seen by one player."""

    artist: Artist
    points: int  # of the artist's latest history point; 0 before its first close
    dividend: int
    held: bool  # by the player asked about (False when none was)


class ListedArtist(NamedTuple):
    """A listed artist as analytics reads it, hundreds a batch (a named tuple: a
    third of a frozen dataclass's cost to make)."""

    mbid: str
    name: str
    price: int
    max_shares: int
    remaining: int
    last_listeners: int
    last_playcount: int


@dataclass(frozen=True, slots=True)
class NamedTrade:
    """A trade with its artist's name (the MBID for an artist no longer listed)."""

    player: str | None  # None: the player deleted its account
    mbid: str
    artist: str
    side: Side
    price: int
    at: datetime


class MarketReads(ABC):
    """Reads of the market as of one instant each, at a cost that does not grow
    with the game: a backend may answer aggregates over every trade, player or
    artist from summaries it keeps (and writes while reading), as long as the
    answer is the one the records give at that moment."""

    @abstractmethod
    def market(self, mbid: str, player: str | None) -> ArtistMarket | None:
        """The listed artist ``mbid`` with its latest close's points and dividend,
        and whether ``player`` holds it; None if the artist is not listed."""

    @abstractmethod
    def history(self, mbid: str, since: date) -> list[HistoryPoint]:
        """The artist's history points from day ``since`` on, oldest first. Raises
        ``UnknownArtist`` if the artist is not listed."""

    @abstractmethod
    def recent_trades(self, limit: int) -> list[NamedTrade]:
        """The ``limit`` newest trades of the game, newest first."""

    @abstractmethod
    def most_bought(
        self, limit: int, since: date | None, now: datetime
    ) -> list[tuple[str, str, int]]:
        """(mbid, name, buys) of the artists bought most in trades from the start of
        UTC day ``since`` (all time if None) on, up to ``now``, most first, ties by
        MBID; the name is the MBID for an artist no longer listed."""

    @abstractmethod
    def counts(self, since: date, now: datetime) -> GameCounts:
        """Players, listed artists, and trades per UTC day from ``since`` on."""

    @abstractmethod
    def listed(self, after: str, limit: int) -> list[ListedArtist]:
        """The first ``limit`` listed artists with MBIDs after ``after``, by MBID."""


class ArtistRankings(ABC):
    """The market's tops, as of one instant each, at a cost that does not grow with
    the number of artists where the backend can help it."""

    @abstractmethod
    def top_by_price(self, limit: int) -> list[ArtistMarket]:
        """The ``limit`` listed artists with the highest prices, ties by MBID, with
        their latest close's points and dividend; ``held`` is False."""

    @abstractmethod
    def top_by_gain(self, since: date, limit: int) -> list[tuple[ArtistMarket, int]]:
        """The ``limit`` listed artists with the greatest gain, greatest first, ties
        by MBID: the price now less the price of the artist's first history point on
        or after day ``since`` (0 without one). ``held`` is False."""
