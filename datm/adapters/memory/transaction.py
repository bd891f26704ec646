"""One unit of work's side of the store: its locks, tracked entities and buffered writes.

Isolation is read committed, like Postgres's default: reads copy committed state,
own pending writes are laid over it, and nothing is visible to others until
``commit`` writes everything back under the store mutex in one step.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from datm.adapters.memory.store import InMemoryStore
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.closes import CloseRecord
from datm.domain.errors import Conflict, ProgrammingError, QuoteInvalid
from datm.domain.player import LedgerEntry, Player
from datm.domain.sessions import Session
from datm.domain.trading import Trade


@dataclass
class Pending:
    """What one transaction has changed so far. Players and artists map to the
    tracked objects themselves: whatever the caller does to them is written back."""

    players: dict[str, Player] = field(default_factory=dict)
    new_players: set[str] = field(default_factory=set)
    deleted_players: set[str] = field(default_factory=set)
    artists: dict[str, Artist] = field(default_factory=dict)
    new_artists: set[str] = field(default_factory=set)
    trades: list[Trade] = field(default_factory=list)
    anonymised: set[str] = field(default_factory=set)
    ledger: list[LedgerEntry] = field(default_factory=list)
    ledger_deleted: set[str] = field(default_factory=set)
    history: dict[tuple[str, date], HistoryPoint] = field(default_factory=dict)
    quotes: dict[str, datetime] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    sessions_ended: set[str] = field(default_factory=set)
    closes: dict[date, CloseRecord] = field(default_factory=dict)
    forgotten_holders: set[str] = field(default_factory=set)


class Transaction:
    """The state behind one ``InMemoryUnitOfWork``; also the owner of its locks."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.pending = Pending()
        self.closed = False
        self._locks: set[Hashable] = set()
        self._market_shared = False

    def check_open(self) -> None:
        if self.closed:
            raise ProgrammingError("this unit of work is closed; open a new one")

    @contextmanager
    def committed(self) -> Iterator[InMemoryStore]:
        """The store, under its mutex, for one consistent read."""
        self.check_open()
        with self.store.mutex:
            yield self.store

    # locks ------------------------------------------------------------------
    def lock(self, key: Hashable) -> bool:
        """Lock ``key`` until the transaction ends; True if it was not held before."""
        self.check_open()
        if key in self._locks:
            return False
        self.store.row_locks.acquire(key, self, self.store.lock_timeout)
        self._locks.add(key)
        return True

    def unlock(self, key: Hashable) -> None:
        """Give back a lock taken for a row that turned out not to exist."""
        self._locks.discard(key)
        self.store.row_locks.release([key], self)

    def require_market_open(self) -> None:
        self.check_open()
        if not self._market_shared:
            self.store.market.acquire_shared(self)
            self._market_shared = True

    def _release_all(self) -> None:
        if self._locks:
            self.store.row_locks.release(self._locks, self)
            self._locks = set()
        if self._market_shared:
            self.store.market.release_shared(self)
            self._market_shared = False

    # ending -----------------------------------------------------------------
    def commit(self) -> None:
        """Check, then write everything back at once; ends the transaction (and its
        locks, as a database commit does) but not the unit of work."""
        self.check_open()
        with self.store.mutex:
            self._check(self.pending)
            self._write(self.pending)
        self.pending = Pending()
        self._release_all()

    def rollback(self) -> None:
        self.pending = Pending()
        self._release_all()

    def close(self) -> None:
        self.rollback()
        self.closed = True

    def _check(self, p: Pending) -> None:
        # The row locks taken by add/mark_used make these unreachable in practice;
        # they stay as the last line against a lost write.
        store = self.store
        for name in p.new_players:
            if name in store.players:
                raise Conflict(f"player {name!r} was added concurrently")
        for mbid in p.new_artists:
            if mbid in store.artists:
                raise Conflict(f"artist {mbid!r} was listed concurrently")
        for quote_id in p.quotes:
            if quote_id in store.used_quotes:
                raise QuoteInvalid("already used")

    def _write(self, p: Pending) -> None:
        store = self.store
        for name in p.deleted_players:
            store.players.pop(name, None)
        store.players.update({k: copy.deepcopy(v) for k, v in p.players.items()})
        store.artists.update({k: copy.deepcopy(v) for k, v in p.artists.items()})
        if p.anonymised:
            store.trades[:] = [
                replace(t, player=None) if t.player in p.anonymised else t for t in store.trades
            ]
        store.trades.extend(p.trades)
        for name in p.ledger_deleted:
            store.ledger.pop(name, None)
        for entry in p.ledger:
            store.ledger.setdefault(entry.player, []).append(entry)
        for (mbid, day), point in p.history.items():
            store.history.setdefault(mbid, {})[day] = point
        for quote_id, expires_at in p.quotes.items():
            store.remember_quote(quote_id, expires_at)
        if p.sessions_ended:
            for key_hash, session in list(store.sessions.items()):
                if session.player in p.sessions_ended:
                    del store.sessions[key_hash]
        store.sessions.update(p.sessions)
        store.closes.update(p.closes)
        for book in store.close_holders.values():
            for holders in book.values():
                holders.difference_update(p.forgotten_holders)
