"""What a player's public profile reads from the store, in one go.

A read port beside the units of work: a profile reads a player, every artist it
holds with that artist's latest close, and its newest trades, and on Postgres
that is one statement however many holdings, where the repositories would take
one per holding. The answer is a consistent snapshot of one instant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from datm.domain.artist import Artist
from datm.domain.player import Player
from datm.domain.quotes import Side


@dataclass(frozen=True, slots=True)
class HeldArtist:
    """An artist a player holds, with what its latest close paid per share."""

    artist: Artist
    points: int  # of the artist's latest history point; 0 before its first close
    dividend: int


@dataclass(frozen=True, slots=True)
class PlayerTrade:
    """One of the player's own trades, with the artist's name (its MBID if the
    artist is no longer listed)."""

    mbid: str
    artist: str
    side: Side
    price: int
    at: datetime


@dataclass(frozen=True, slots=True)
class PlayerRecord:
    player: Player  # with its holdings and trophies
    latest_close: date | None  # the latest close the daily totals count (closes.latest_day)
    held: Mapping[str, HeldArtist]  # by MBID: every holding's artist
    trades: tuple[PlayerTrade, ...]  # newest first


class PlayerReads(ABC):
    @abstractmethod
    def profile(self, name: str, trades: int) -> PlayerRecord:
        """The player ``name`` with its holdings, trophies and point totals, each
        held artist, the latest close counted by the daily totals, and the player's
        ``trades`` newest trades, all as of one instant, in a fixed number of
        statements. Raises ``UnknownPlayer`` if there is no such player."""
