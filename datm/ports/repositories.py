"""Collection-like repositories. They speak domain types only.

Conventions: ``get`` raises the domain's Unknown* error, ``find`` returns None,
``get_for_update`` locks the row until the unit of work ends (players before
artists, each in key order), ``add`` inserts. There is no ``save``: the unit of
work writes back what it loaded for update or added.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date, datetime

from datm.domain.artist import Artist, HistoryPoint
from datm.domain.closes import CloseRecord
from datm.domain.leagues import League
from datm.domain.periods import Period
from datm.domain.player import LedgerEntry, Player
from datm.domain.sessions import Session
from datm.domain.trading import Trade


class PlayerRepository(ABC):
    @abstractmethod
    def get(self, name: str) -> Player:
        """The player (a copy, not locked); ``UnknownPlayer`` if absent."""

    @abstractmethod
    def find(self, name: str) -> Player | None:
        """The player (not locked) or None."""

    @abstractmethod
    def get_for_update(self, name: str) -> Player:
        """The player, locked until the unit of work ends; ``UnknownPlayer`` if absent."""

    @abstractmethod
    def add(self, player: Player) -> None:
        """Insert a new player; a concurrent insert of the same name is a ``Conflict``."""

    @abstractmethod
    def delete(self, player: Player) -> None:
        """Remove a player loaded for update, with its holdings and trophies."""

    @abstractmethod
    def count(self) -> int:
        """The number of players."""

    @abstractmethod
    def page(self, after: str | None, limit: int) -> list[Player]:
        """Up to ``limit`` players (not locked) with names greater than ``after``, by name."""

    @abstractmethod
    def holders_of(self, mbid: str) -> list[str]:
        """Names of the players holding the artist, in name order."""

    @abstractmethod
    def scores(
        self, league: str, period: Period, latest_close: date | None, today: date
    ) -> list[tuple[str, int]]:
        """(name, points) of every player of the league for the period, in any order."""


class ArtistRepository(ABC):
    @abstractmethod
    def get(self, mbid: str) -> Artist:
        """The listed artist (not locked); ``UnknownArtist`` if not listed."""

    @abstractmethod
    def find(self, mbid: str) -> Artist | None:
        """The listed artist (not locked) or None."""

    @abstractmethod
    def get_for_update(self, mbid: str) -> Artist:
        """The artist, locked until the unit of work ends; ``UnknownArtist`` if absent."""

    @abstractmethod
    def find_many(self, mbids: Sequence[str]) -> dict[str, Artist]:
        """The listed artists among ``mbids`` (not locked), by MBID."""

    def prices(self, mbids: Sequence[str]) -> dict[str, int]:
        """Current prices of the listed artists among ``mbids`` (not locked): what a
        net worth needs, which a backend may have read with the player."""
        return {mbid: artist.price for mbid, artist in self.find_many(mbids).items()}

    @abstractmethod
    def add(self, artist: Artist) -> None:
        """List a new artist; a concurrent listing of the same MBID is a ``Conflict``."""

    @abstractmethod
    def count(self) -> int:
        """The number of listed artists."""

    @abstractmethod
    def page(self, after: str | None, limit: int) -> list[Artist]:
        """Up to ``limit`` listed artists with MBID greater than ``after``, by MBID."""


class TradeRepository(ABC):
    @abstractmethod
    def add(self, trade: Trade) -> None:
        """Record an executed trade."""

    @abstractmethod
    def recent(self, limit: int) -> list[Trade]:
        """The newest trades first."""

    @abstractmethod
    def for_player(self, name: str, limit: int) -> list[Trade]:
        """The player's newest trades first."""

    @abstractmethod
    def count_for_player(self, name: str) -> int:
        """How many trades the player made."""

    @abstractmethod
    def most_bought(self, limit: int, since: datetime | None) -> list[tuple[str, int]]:
        """(mbid, number of buys) since the time given (all time if None), most first,
        ties by MBID."""

    @abstractmethod
    def per_day(self, since: date) -> dict[date, int]:
        """Trades per UTC day from ``since`` on; days without trades are absent."""

    @abstractmethod
    def by_quote(self, quote_id: str) -> Trade | None:
        """The committed trade that used the quote ``quote_id``, if any (at most one)."""

    @abstractmethod
    def anonymise(self, name: str) -> None:
        """Keep the player's trades but remove the player's name from them."""


class LedgerRepository(ABC):
    @abstractmethod
    def add(self, entry: LedgerEntry) -> None:
        """Record one change of a player's money."""

    @abstractmethod
    def for_player(self, name: str) -> list[LedgerEntry]:
        """Every entry of the player, oldest first."""

    @abstractmethod
    def total(self, name: str) -> int:
        """The sum of the player's entries: money - STARTING_MONEY."""

    @abstractmethod
    def delete_for(self, name: str) -> None:
        """Forget a deleted player's entries."""


class HistoryRepository(ABC):
    @abstractmethod
    def put(self, point: HistoryPoint) -> None:
        """Store the point of (mbid, day), replacing one of the same day."""

    @abstractmethod
    def for_artist(self, mbid: str, since: date) -> list[HistoryPoint]:
        """The artist's points from ``since`` on, oldest first."""

    @abstractmethod
    def latest(self, mbid: str) -> HistoryPoint | None:
        """The artist's newest point."""


class UsedQuoteRepository(ABC):
    @abstractmethod
    def mark_used(self, quote_id: str, expires_at: datetime) -> None:
        """Record that the quote was executed; ``QuoteInvalid`` if it already was,
        also by a unit of work running at the same time."""


class SessionRepository(ABC):
    @abstractmethod
    def add(self, session: Session) -> None:
        """Store a new session."""

    @abstractmethod
    def find(self, key_hash: str) -> Session | None:
        """The session whose key hashes to ``key_hash``; a deleted player has none."""

    @abstractmethod
    def delete_for(self, player: str) -> None:
        """End every session of the player."""


class CloseRepository(ABC):
    @abstractmethod
    def get(self, day: date) -> CloseRecord | None:
        """The record of the close of ``day``."""

    @abstractmethod
    def put(self, record: CloseRecord) -> None:
        """Store the record of its day, replacing an earlier one."""

    @abstractmethod
    def latest_day(self) -> date | None:
        """The day of the newest close that has paid anyone (or finished): the close
        whose points the daily totals count. A close still fetching its numbers
        after its cut-off does not count yet."""

    @abstractmethod
    def forget_holder(self, player: str) -> None:
        """The player reset or left the game: no close still paying pays them as a
        holder of record (game-rules.md). Call with the player locked."""


class LeagueRepository(ABC):
    @abstractmethod
    def all(self) -> list[League]:
        """Every league, lowest rank first."""

    @abstractmethod
    def find(self, uid: str) -> League | None:
        """The league or None."""
