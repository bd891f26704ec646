"""The committed state of the in-memory backend, shared by every unit of work."""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass
from datetime import date, datetime

from datm.adapters.memory.locks import MarketRWLock, RowLocks
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.closes import ArtistNumbers, ArtistOfRecord, CloseRecord
from datm.domain.errors import InvalidInput
from datm.domain.leagues import SEEDED_LEAGUES, League
from datm.domain.player import LedgerEntry, Player
from datm.domain.sessions import Session
from datm.domain.trading import Trade

DEFAULT_LOCK_TIMEOUT = 5.0


@dataclass
class CloseArtistRow:
    """An artist of record of one close: its price and numbers at the cut-off,
    then its fresh numbers, then whether its holders were paid."""

    price: int
    last: ArtistOfRecord
    numbers: ArtistNumbers | None = None
    paid: bool = False


class InMemoryStore:
    """Everything committed, guarded by ``mutex``; one per process (or per test).

    Only the memory adapters touch these attributes: they read under ``mutex`` and
    write under it at commit, so a reader never sees half a commit.
    """

    def __init__(self, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        if lock_timeout <= 0:
            raise InvalidInput("lock_timeout", "must be a positive number of seconds")
        self.lock_timeout = lock_timeout
        self.mutex = threading.RLock()
        self.row_locks = RowLocks()
        self.market = MarketRWLock()
        self.players: dict[str, Player] = {}
        self.artists: dict[str, Artist] = {}
        self.trades: list[Trade] = []  # the index is the insertion sequence
        self.ledger: dict[str, list[LedgerEntry]] = {}
        self.history: dict[str, dict[date, HistoryPoint]] = {}
        self.used_quotes: dict[str, datetime] = {}
        self._quote_expiries: list[tuple[datetime, str]] = []  # heap, for forgetting
        self.sessions: dict[str, Session] = {}
        self.closes: dict[date, CloseRecord] = {}
        self.close_artists: dict[date, dict[str, CloseArtistRow]] = {}
        self.close_holders: dict[date, dict[str, set[str]]] = {}  # day -> mbid -> players
        self.close_payment = threading.Lock()  # one payment batch at a time
        self.leagues: dict[str, League] = {league.uid: league for league in SEEDED_LEAGUES}

    def remember_quote(self, quote_id: str, expires_at: datetime) -> None:
        """Call under ``mutex``."""
        self.used_quotes[quote_id] = expires_at
        heapq.heappush(self._quote_expiries, (expires_at, quote_id))

    def forget_quotes_expired_before(self, moment: datetime) -> None:
        """Drop used quote ids that expired before ``moment``: an expired quote is
        refused by its signature check, so its id no longer needs remembering."""
        with self.mutex:
            while self._quote_expiries and self._quote_expiries[0][0] < moment:
                _, quote_id = heapq.heappop(self._quote_expiries)
                if self.used_quotes.get(quote_id, moment) < moment:
                    del self.used_quotes[quote_id]
