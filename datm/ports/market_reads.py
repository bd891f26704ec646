"""Read models of the market that a backend may keep summaries for."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class GameCounts:
    players: int
    listed_artists: int
    trades_per_day: tuple[tuple[date, int], ...]  # days with trades, oldest first


class MarketReads(ABC):
    """Aggregates over every trade, player or artist, at a cost that does not grow
    with the game: a backend may answer from summaries it keeps (and writes while
    reading), as long as the answer is the one the records give at that moment."""

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
