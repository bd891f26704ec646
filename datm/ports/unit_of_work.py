from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from datm.domain.artist import Artist
from datm.domain.player import Player
from datm.ports.market import MarketGate
from datm.ports.repositories import (
    ArtistRepository,
    CloseRepository,
    HistoryRepository,
    LeagueRepository,
    LedgerRepository,
    PlayerRepository,
    SessionRepository,
    TradeRepository,
    UsedQuoteRepository,
)


class UnitOfWork(ABC):
    """One transaction. Commit is explicit; leaving the block rolls back anything
    uncommitted and releases every lock and connection. Errors raised inside are
    datm errors; a lost race is ``Conflict``, which services retry.

    Isolation is read committed. Objects from ``get_for_update`` or ``add`` are
    tracked: the same object comes back for the same key, and commit writes them.
    Other reads need not see this unit of work's own uncommitted changes, so a
    service reads what it needs before it writes."""

    players: PlayerRepository
    artists: ArtistRepository
    trades: TradeRepository
    ledger: LedgerRepository
    history: HistoryRepository
    quotes: UsedQuoteRepository
    sessions: SessionRepository
    closes: CloseRepository
    leagues: LeagueRepository
    market: MarketGate

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self.close()

    def lock_for_trade(self, player: str, mbid: str) -> tuple[Player, Artist]:
        """A trade's player, locked, and its artist, tracked: the same as
        ``players.get_for_update`` followed by ``artists.get_for_update`` (the
        fixed order every writer uses). A backend may instead read the artist
        unlocked and, at commit, apply the trade's move (holders one up or down,
        the price moved by the rule) to the artist as it is then, refusing with
        ``NoneRemaining`` a buy that finds no share left: the outcome is the same
        as if the trades had run one after another."""
        return self.players.get_for_update(player), self.artists.get_for_update(mbid)

    def read_for_quote(self, player: str, mbid: str) -> tuple[Player, Artist | None]:
        """The player (``UnknownPlayer`` if none) and the artist if it is listed, as
        ``players.get`` and ``artists.find`` read them; a backend may read both at once."""
        return self.players.get(player), self.artists.find(mbid)

    @abstractmethod
    def commit(self) -> None:
        """Make every change of this unit of work durable and visible, atomically."""

    @abstractmethod
    def rollback(self) -> None:
        """Discard uncommitted changes; harmless after a commit."""

    @abstractmethod
    def close(self) -> None:
        """Release locks and connections; the unit of work cannot be used again."""


class UnitOfWorkFactory(ABC):
    @abstractmethod
    def __call__(self) -> UnitOfWork:
        """A fresh unit of work for one call; safe to call from any thread."""
