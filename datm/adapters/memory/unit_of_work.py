"""The in-memory unit of work: read committed, row locks, atomic commit.

Lock policy, in one place: ``get_for_update``, ``add`` and ``mark_used`` take an
exclusive row lock that the transaction keeps until it commits or rolls back; a
wait longer than the store's ``lock_timeout`` is a ``Conflict`` (a deadlock, or
a holder too slow), which services retry. ``market.require_open()`` shares the
market lock for as long. After ``commit`` the unit of work may start again with
new reads and writes; after ``close`` (the end of its ``with`` block) any use is
a ``ProgrammingError``.
"""

from __future__ import annotations

from datetime import timedelta

from datm.adapters.memory.artists import InMemoryArtistRepository
from datm.adapters.memory.market import InMemoryMarketGate
from datm.adapters.memory.players import InMemoryPlayerRepository
from datm.adapters.memory.records import (
    InMemoryCloseRepository,
    InMemoryHistoryRepository,
    InMemoryLeagueRepository,
    InMemoryLedgerRepository,
    InMemoryTradeRepository,
)
from datm.adapters.memory.sessions import InMemorySessionRepository, InMemoryUsedQuoteRepository
from datm.adapters.memory.store import InMemoryStore
from datm.adapters.memory.transaction import Transaction
from datm.ports.clock import Clock
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

# How long a used quote id outlives its expiry: a margin, so a clock stepped back
# (NTP, a test's manual clock) cannot make an executed quote valid again.
QUOTE_MEMORY = timedelta(days=1)


class InMemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: InMemoryStore, clock: Clock | None = None) -> None:
        self._tx = Transaction(store)
        self._clock = clock
        self.players = InMemoryPlayerRepository(self._tx)
        self.artists = InMemoryArtistRepository(self._tx)
        self.trades = InMemoryTradeRepository(self._tx)
        self.ledger = InMemoryLedgerRepository(self._tx)
        self.history = InMemoryHistoryRepository(self._tx)
        self.quotes = InMemoryUsedQuoteRepository(self._tx)
        self.sessions = InMemorySessionRepository(self._tx)
        self.closes = InMemoryCloseRepository(self._tx)
        self.leagues = InMemoryLeagueRepository(self._tx)
        self.market = InMemoryMarketGate(self._tx)

    def commit(self) -> None:
        marked_quotes = bool(self._tx.pending.quotes)
        self._tx.commit()
        if marked_quotes and self._clock is not None:
            self._tx.store.forget_quotes_expired_before(self._clock.now() - QUOTE_MEMORY)

    def rollback(self) -> None:
        self._tx.rollback()

    def close(self) -> None:
        self._tx.close()


class InMemoryUnitOfWorkFactory(UnitOfWorkFactory):
    """Units of work on one store; safe to share between threads.

    With a ``clock``, used quote ids are forgotten a day after they expired, so a
    long-running demo does not keep every id; without one they are kept.
    """

    def __init__(self, store: InMemoryStore, clock: Clock | None = None) -> None:
        self.store = store
        self._clock = clock

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, self._clock)
