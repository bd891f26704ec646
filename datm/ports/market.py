from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MarketLockHolder:
    """Who holds the market lock (or has asked for it), as far as the store can tell.

    An operator reads it to find a close that hangs: which process, on which
    machine, since when. Fields the store cannot see (a Postgres role without
    ``pg_read_all_stats`` sees little of other roles' sessions) are None.
    """

    pid: int | None  # the holding process's own pid: datm's processes announce it
    host: str | None  # where it runs or connects from: a name, an address, "local socket"
    application: str | None  # its application name; datm's say "datm ..."
    since: datetime | None  # UTC: when it got the lock, or began to wait for it
    waiting: bool = False  # asked, waiting for trades in flight: trading already refused
    backend_pid: int | None = None  # Postgres: the server process (for pg_terminate_backend)


class MarketLock(ABC):
    """The lock the daily close holds so that nobody trades while it runs.

    Held exclusively by one close at a time, across every process and machine
    sharing the store; trades take it shared through ``UnitOfWork.market``.
    """

    @abstractmethod
    def acquire(self, timeout: float) -> None:
        """Close the market: from now on every new trade fails with ``MarketClosed``;
        waits up to ``timeout`` seconds for trades in flight to finish, else raises
        ``MarketLockBusy`` and leaves the market open. A second ``acquire`` on the same lock,
        from any thread or process, waits like any other. A holder that dies releases it."""

    @abstractmethod
    def release(self) -> None:
        """Open the market again. Releasing a lock this object does not hold is a
        ``ProgrammingError``."""

    @abstractmethod
    def is_open(self) -> bool:
        """Whether trading is open now (nobody holds the lock, nor waits for it)."""

    @abstractmethod
    def holder(self) -> MarketLockHolder | None:
        """Who holds the lock now, or waits for it (a holder before a waiter);
        None exactly when ``is_open()``."""

    @abstractmethod
    def close(self) -> None:
        """Release the lock if this object holds it and close any connection of its
        own; idempotent. For the end of a program: it never raises for a store that
        went away, since losing the connection releases the lock anyway."""

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        """Hold the lock for the duration of a ``with`` block."""
        self.acquire(timeout)
        try:
            yield
        finally:
            self.release()


class MarketGate(ABC):
    """The market lock as one unit of work sees it."""

    @abstractmethod
    def require_open(self) -> None:
        """Take the market lock shared until the transaction ends (commit, rollback or
        close), or raise
        ``MarketClosed`` at once if a close holds it."""
