"""The daily close: points, dividends and the new state of one artist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from datm.domain import pricing
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.closes import ArtistNumbers, ArtistOfRecord

POINTS_PER_PLAY = Decimal("0.0005")
POINTS_PER_LISTENER = Decimal("0.05")
DIVIDEND_FACTOR = Decimal("0.01")
DIVIDEND_PLAYS = Decimal(3)
DIVIDEND_LISTENERS = Decimal("0.05")


def close_points(delta_listeners: int, delta_playcount: int) -> int:
    """round(0.0005 * dS + 0.05 * dL); may be negative."""
    value = POINTS_PER_PLAY * delta_playcount + POINTS_PER_LISTENER * delta_listeners
    return pricing.round_half_even(value)


def close_dividend(delta_listeners: int, delta_playcount: int) -> int:
    """round(0.01 * (3 * sqrt(max(0, dS)) + 0.05 * max(0, dL)))."""
    plays = Decimal(max(0, delta_playcount)).sqrt()
    value = DIVIDEND_FACTOR * (
        DIVIDEND_PLAYS * plays + DIVIDEND_LISTENERS * max(0, delta_listeners)
    )
    return pricing.round_half_even(value)


@dataclass(frozen=True, slots=True)
class ArtistClose:
    """What one artist's close pays each holder, and its history point."""

    mbid: str
    day: date
    points: int
    dividend: int
    history: HistoryPoint


def is_closed(artist: Artist, day: date) -> bool:
    return artist.last_closed_on is not None and artist.last_closed_on >= day


def close_artist(
    artist: Artist,
    listeners: int,
    playcount: int,
    day: date,
    players: int,
    top_listeners: int,
) -> ArtistClose:
    """Apply the close of ``day`` to ``artist`` with its fresh last.fm numbers, at
    its price now."""
    of_record = ArtistOfRecord(artist.mbid, artist.last_listeners, artist.last_playcount)
    paid = numbers(of_record, listeners, playcount, players, top_listeners)
    history = apply_close(artist, paid, artist.price, day)
    return ArtistClose(artist.mbid, day, paid.points, paid.dividend, history)


def apply_close(artist: Artist, paid: ArtistNumbers, price: int, day: date) -> HistoryPoint:
    """What the close of ``day`` does to ``artist``, its price at the cut-off being
    ``price``: the closing price, the new numbers, max shares never below the
    holders now; its history point, returned."""
    artist.last_close_price = price
    artist.last_listeners = paid.listeners
    artist.last_playcount = paid.playcount
    artist.last_closed_on = day
    artist.max_shares = max(artist.holders, paid.max_shares)
    return HistoryPoint(artist.mbid, day, price, paid.points, paid.dividend)


def numbers(
    artist: ArtistOfRecord,
    listeners: int,
    playcount: int,
    players: int,
    top_listeners: int,
    failure: tuple[str, str] | None = None,
) -> ArtistNumbers:
    """What ``artist``'s fresh numbers pay at a close of record: points, dividend
    and the listing formula's max shares with the cut-off's N and L_top. The
    payment applies them (max shares never below the holders then)."""
    delta_l = listeners - artist.last_listeners
    delta_s = playcount - artist.last_playcount
    return ArtistNumbers(
        artist.mbid,
        listeners,
        playcount,
        close_points(delta_l, delta_s),
        close_dividend(delta_l, delta_s),
        pricing.max_shares(players, listeners, top_listeners),
        failure,
    )


def kept(
    artist: ArtistOfRecord, players: int, top_listeners: int, code: str, reason: str
) -> ArtistNumbers:
    """An artist whose numbers cannot be had keeps its previous ones: points 0 and
    dividend 0 for the day (game-rules.md), and the reason is recorded."""
    return numbers(
        artist, artist.last_listeners, artist.last_playcount, players, top_listeners, (code, reason)
    )
