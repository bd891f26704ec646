"""Batch reads and the market lock, for analytics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta

from injector import inject

from datm.ports.clock import Clock
from datm.ports.market import MarketLock
from datm.ports.market_reads import MarketReads
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.checks import check_optional_seconds
from datm.services.results import ArtistSummary, Counts, MarketStatus
from datm.services.views import check_count
from datm.settings import Settings


class AnalyticsService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        market_lock: MarketLock,
        clock: Clock,
        settings: Settings,
        reads: MarketReads,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._lock = market_lock
        self._clock = clock
        self._lock_timeout = settings.market_lock_timeout_seconds

    def artists(self, batch_size: int = 200) -> Iterator[list[ArtistSummary]]:
        """Every listed artist, in batches by MBID; one short read per batch, each
        when the iterator is advanced. A bad ``batch_size`` is refused here, at the
        call, not at the first batch."""
        return self._batches(check_count("batch_size", batch_size, 10_000))

    def _batches(self, batch_size: int) -> Iterator[list[ArtistSummary]]:
        after = ""  # below every MBID
        while True:
            batch = self._reads.listed(after, batch_size)
            if not batch:
                return
            after = batch[-1].mbid
            # ListedArtist's fields are ArtistSummary's, in order (the port's tuple).
            yield [ArtistSummary(*a) for a in batch]

    def counts(self, days: int = 7) -> Counts:
        """Players, listed artists, and trades per day over the last ``days`` days."""
        since = self._clock.today() - timedelta(days=check_count("days", days, 3660) - 1)
        counted = self._reads.counts(since, self._clock.now())
        return Counts(counted.players, counted.listed_artists, counted.trades_per_day)

    def hold_market_lock(self, timeout: float | None = None) -> AbstractContextManager[None]:
        """Close the market for a ``with`` block."""
        timeout = check_optional_seconds("timeout", timeout)
        return self._lock.hold(self._lock_timeout if timeout is None else timeout)

    def acquire_market_lock(self, timeout: float | None = None) -> None:
        timeout = check_optional_seconds("timeout", timeout)
        self._lock.acquire(self._lock_timeout if timeout is None else timeout)

    def release_market_lock(self) -> None:
        self._lock.release()

    def is_market_open(self) -> bool:
        return self._lock.is_open()

    def market_status(self) -> MarketStatus:
        """Open or closed, and who holds the market lock (which process, from where,
        since when): what an operator asks when trading has been refused too long."""
        holder = self._lock.holder()  # one look: open and holder always agree
        return MarketStatus(open=holder is None, holder=holder)
