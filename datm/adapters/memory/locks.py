"""The two locks of the in-memory store: row locks and the market read/write lock.

Both are owned by an object (a unit of work, a market lock), not by a thread: a
unit of work may be used from any one thread at a time, and what it locks is
released when it ends, whichever thread ends it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime

from datm.domain.errors import Conflict, MarketClosed, MarketLockBusy, ProgrammingError


class RowLocks:
    """Exclusive locks on keys such as ("player", name), reentrant per owner.

    A wait longer than the timeout is how a deadlock surfaces: ``Conflict``,
    which services retry, exactly as Postgres reports 40P01.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owners: dict[Hashable, object] = {}

    def acquire(self, key: Hashable, owner: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._owners.get(key, owner) is not owner:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Conflict(f"lock wait timeout on {key!r} (held by another transaction)")
                self._cond.wait(remaining)
            self._owners[key] = owner

    def release(self, keys: Iterable[Hashable], owner: object) -> None:
        with self._cond:
            for key in keys:
                if self._owners.get(key) is owner:
                    del self._owners[key]
            self._cond.notify_all()

    def held_by(self, owner: object) -> set[Hashable]:
        """The keys ``owner`` holds (for tests and diagnostics)."""
        with self._cond:
            return {key for key, holder in self._owners.items() if holder is owner}


class MarketRWLock:
    """Writer-preferring read/write lock: trades share it, the daily close owns it.

    Once a writer asks, new readers are refused at once (``MarketClosed``) rather
    than queued: a trade must never wait behind a close that may take minutes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers: set[object] = set()
        self._writer: object | None = None  # closing or closed by this owner
        self._writer_active = False
        self._since: datetime | None = None  # wall clock: for an operator, not the game

    def acquire_shared(self, owner: object) -> None:
        with self._cond:
            if self._writer is not None:
                raise MarketClosed()
            self._readers.add(owner)

    def release_shared(self, owner: object) -> None:
        with self._cond:
            self._readers.discard(owner)
            self._cond.notify_all()

    def acquire_exclusive(self, owner: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            # Another close first: wait for it to finish, as a second process would.
            while self._writer is not None:
                if not self._wait_until(deadline):
                    raise MarketLockBusy(timeout)
            self._writer, self._since = owner, datetime.now(UTC)
            while self._readers:
                if not self._wait_until(deadline):
                    self._writer = self._since = None  # reopen: the trades in flight win
                    self._cond.notify_all()
                    raise MarketLockBusy(timeout)
            self._writer_active, self._since = True, datetime.now(UTC)

    def release_exclusive(self, owner: object) -> None:
        if not self.release_if_held(owner):
            raise ProgrammingError("the market lock is not held by this object")

    def release_if_held(self, owner: object) -> bool:
        """Release the lock if ``owner`` holds it (not merely waits for it); whether it did."""
        with self._cond:
            if self._writer is not owner or not self._writer_active:
                return False
            self._writer = self._since = None
            self._writer_active = False
            self._cond.notify_all()
            return True

    def is_open(self) -> bool:
        with self._cond:
            return self._writer is None

    def writer(self) -> tuple[bool, datetime] | None:
        """(waiting, since) of the close holding or waiting for the lock, or None."""
        with self._cond:
            if self._writer is None or self._since is None:
                return None
            return not self._writer_active, self._since

    def _wait_until(self, deadline: float) -> bool:
        """Wait for a change; False once the deadline has passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._cond.wait(remaining)
        return True
