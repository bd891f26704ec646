"""The Artist aggregate: price and shares of one artist, identified by MBID."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from datm.domain import pricing
from datm.domain.errors import InvalidInput, NoMbid

_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_mbid(mbid: str | None, artist: str = "") -> str:
    """The MBID in canonical (lower-case) form; a missing one is ``NoMbid``."""
    if not mbid or not mbid.strip():
        raise NoMbid(artist or "this artist")
    canonical = mbid.strip().lower()
    if not _MBID.match(canonical):
        raise InvalidInput("mbid", f"{mbid!r} is not a MusicBrainz id")
    return canonical


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One day of an artist's market history."""

    mbid: str
    day: date
    price: int
    points: int
    dividend: int


class Artist:
    """A listed artist. Entity: equal by MBID; the UoW tracks its changes."""

    def __init__(
        self,
        mbid: str,
        name: str,
        price: int,
        max_shares: int,
        last_close_price: int,
        last_listeners: int,
        last_playcount: int,
        listed_on: date,
        holders: int = 0,
        last_closed_on: date | None = None,
    ) -> None:
        self.mbid = check_mbid(mbid, name)
        self.name = name
        self.price = price
        self.max_shares = max_shares
        self.holders = holders
        self.last_close_price = last_close_price
        self.last_listeners = last_listeners
        self.last_playcount = last_playcount
        self.listed_on = listed_on
        self.last_closed_on = last_closed_on

    @classmethod
    def list(
        cls,
        mbid: str,
        name: str,
        listeners: int,
        playcount: int,
        players: int,
        top_listeners: int,
        today: date,
    ) -> tuple[Artist, HistoryPoint]:
        """Listing from last.fm numbers: the artist and its first history point."""
        price = pricing.listing_price(listeners, playcount)
        artist = cls(
            mbid=mbid,
            name=name,
            price=price,
            max_shares=pricing.max_shares(players, listeners, top_listeners),
            last_close_price=price,
            last_listeners=listeners,
            last_playcount=playcount,
            listed_on=today,
        )
        return artist, HistoryPoint(artist.mbid, today, price, 0, 0)

    @property
    def remaining(self) -> int:
        return max(0, self.max_shares - self.holders)

    @property
    def sell_price(self) -> int:
        return pricing.sell_price(self.price)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artist) and other.mbid == self.mbid

    def __hash__(self) -> int:
        return hash(self.mbid)

    def __repr__(self) -> str:
        return f"<Artist {self.mbid} {self.name!r} price={self.price}>"
