"""What the daily close needs from the store: the record of a close, kept apart
from the units of work because its steps are set-based (a cut-off copies who
holds what as of one instant; a payment pays a hundred thousand holdings in one
transaction) and each method is its own transaction.

Every method is safe to call again after a crash, and from two closes at once:
a cut-off of a day already cut off returns that cut-off unchanged, numbers
already stored are kept (the first stored wins), a holding of record is paid
once and an artist closed once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime

from datm.domain.closes import (
    ArtistNumbers,
    ArtistOfRecord,
    CloseProgressCounts,
    CloseRecord,
    CutOff,
    PaidBatch,
)


class CloseBook(ABC):
    @abstractmethod
    def record(self, day: date) -> CloseRecord | None:
        """The close of ``day``, begun or finished, or None."""

    @abstractmethod
    def unfinished_before(self, day: date) -> date | None:
        """The earliest close before ``day`` that was begun and not finished."""

    @abstractmethod
    def latest_day(self) -> date | None:
        """The newest day whose close was begun (finished or not)."""

    @abstractmethod
    def cut_off(
        self,
        day: date,
        started_at: datetime,
        top_listeners: int,
        market: AbstractContextManager[object],
    ) -> CutOff:
        """Fix the close of ``day``'s record as of one instant inside ``market``
        (the market lock, held from its entry to its exit): the holders of record,
        every listed artist's price and previous numbers, and N. The store leaves
        ``market`` as soon as that instant is fixed, and may copy after it. If the
        day was already cut off, that cut-off is returned and ``market`` is never
        entered."""

    @abstractmethod
    def to_fetch(self, day: date, after: str | None, limit: int) -> list[ArtistOfRecord]:
        """Up to ``limit`` artists of record whose numbers are not in yet, with MBID
        greater than ``after``, by MBID."""

    @abstractmethod
    def store_numbers(self, day: date, numbers: Sequence[ArtistNumbers]) -> int:
        """Keep fetched numbers (one transaction); an artist's numbers already
        stored are not replaced. How many were newly stored."""

    @abstractmethod
    def pay_holders(self, day: date, limit: int, at: datetime) -> PaidBatch:
        """Once every artist of record's numbers are in: pay the holders of record
        of the next range of player names (by name, about ``limit`` holdings; a
        player's holdings are never split), in one transaction. Each one still in
        the game and not reset since the cut-off gets, for every artist held, the
        dividend (with its ledger entry) and the points into every period total.
        Two closes of one day take ranges in turn. ``holdings`` 0: none left (or
        numbers still missing)."""

    @abstractmethod
    def pay_artists(self, day: date, limit: int, at: datetime) -> PaidBatch:
        """Close up to ``limit`` artists whose numbers are in and who are not closed
        yet, in one transaction: their history points, last closing price and
        numbers, and max shares. An empty batch means none is left to close now
        (another close may hold some)."""

    @abstractmethod
    def progress(self, day: date) -> CloseProgressCounts:
        """How far the close of ``day`` has come."""

    @abstractmethod
    def kept(self, day: date) -> list[tuple[str, str, str]]:
        """(mbid, code, reason) of the artists that kept their previous numbers."""

    @abstractmethod
    def finish(self, day: date, at: datetime) -> bool:
        """Mark the close finished if every holder of record is paid and every artist
        closed, award the trophies its holders now earned, and forget its holders of
        record; True if it is finished (now or before)."""
