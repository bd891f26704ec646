from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager


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
        """Whether trading is open now (nobody holds the lock)."""

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
