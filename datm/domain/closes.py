"""The record of one day's close, which makes a rerun resume instead of repeat.

A close runs in three steps (game-rules.md, The daily close): the cut-off fixes
the holders of record, each listed artist's price and previous numbers, N and
L_top; fresh numbers are fetched after it and stored as they arrive; once every
artist's numbers are in, payment pays the holders of record, in ranges of player
names (each player once, for all the artists held), then closes the artists
(history, closing price and numbers, max shares).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CloseRecord:
    day: date
    started_at: datetime
    finished_at: datetime | None = None
    artists_closed: int = 0
    cut_off_at: datetime | None = None
    players: int | None = None  # N at the cut-off
    top_listeners: int | None = None  # L_top at the cut-off
    paid_from: datetime | None = None  # the first payment: the day counts from then
    holdings: int = 0  # holdings of record
    holders_paid: int = 0  # of which dealt with (paid, or not: reset or left since)
    holders_paid_through: str | None = None  # the last player dealt with, by name

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def cut_off(self) -> bool:
        return self.cut_off_at is not None


@dataclass(frozen=True, slots=True)
class CutOff:
    """What a cut-off fixed: its instant, N, L_top, and how much it put on record."""

    day: date
    at: datetime
    players: int
    top_listeners: int
    artists: int  # listed artists of record
    holdings: int  # (player, artist) pairs of record


@dataclass(frozen=True, slots=True)
class ArtistOfRecord:
    """An artist whose fresh numbers a close still needs, with what it had before."""

    mbid: str
    last_listeners: int
    last_playcount: int


@dataclass(frozen=True, slots=True)
class ArtistNumbers:
    """One artist's fresh numbers and what they pay at this close. An artist whose
    numbers could not be had keeps its previous ones (``failure`` says why)."""

    mbid: str
    listeners: int
    playcount: int
    points: int
    dividend: int
    max_shares: int  # the listing formula's, with the cut-off's N and L_top
    failure: tuple[str, str] | None = None  # (code, reason)


@dataclass(frozen=True, slots=True)
class CloseProgressCounts:
    """How far a close has come: artists of record, fetched, closed (``paid``),
    kept (failed); holdings of record, and of them dealt with."""

    artists: int
    fetched: int
    paid: int
    kept: int
    holdings: int = 0
    holders_paid: int = 0


@dataclass(frozen=True, slots=True)
class PaidBatch:
    """What one payment transaction did: artists closed, or holdings of record
    dealt with (``holdings``), of which paid (``holders``), and what they got."""

    artists: int
    holders: int  # payments: one per holder of record of each artist paid
    dividends: int
    points: int
    holdings: int = 0
