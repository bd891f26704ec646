"""The market lock of the in-memory store, and the gate a unit of work sees."""

from __future__ import annotations

import os
import socket

from datm.adapters.memory.store import InMemoryStore
from datm.adapters.memory.transaction import Transaction
from datm.ports.market import MarketGate, MarketLock, MarketLockHolder

APPLICATION = "datm"


class InMemoryMarketLock(MarketLock):
    """Exclusive hold of the store's market lock, for the daily close.

    The holder is this object: a second ``acquire`` on it (from any thread) waits
    like any other close. Only this process can see the lock, which is all an
    in-memory store can share; a holder that dies dies with the process.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def acquire(self, timeout: float) -> None:
        self._store.market.acquire_exclusive(self, timeout)

    def release(self) -> None:
        self._store.market.release_exclusive(self)

    def is_open(self) -> bool:
        return self._store.market.is_open()

    def holder(self) -> MarketLockHolder | None:
        writer = self._store.market.writer()
        if writer is None:
            return None
        waiting, since = writer
        # Only this process can hold an in-memory store's lock.
        return MarketLockHolder(os.getpid(), socket.gethostname(), APPLICATION, since, waiting)

    def close(self) -> None:
        self._store.market.release_if_held(self)


class InMemoryMarketGate(MarketGate):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def require_open(self) -> None:
        self._tx.require_market_open()
