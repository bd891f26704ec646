"""Artists on Postgres, mapped imperatively."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from datm.adapters.postgres import hot_sql
from datm.adapters.postgres.orm import StoredArtist
from datm.adapters.postgres.prepared import Prepared
from datm.adapters.postgres.tables import artists
from datm.adapters.postgres.transaction import Transaction, Writes
from datm.domain.artist import Artist
from datm.domain.errors import ProgrammingError, UnknownArtist
from datm.ports.repositories import ArtistRepository

_PAGE = (
    f"SELECT {hot_sql.ARTIST_COLUMNS} FROM artists WHERE mbid > %(after)s"
    " ORDER BY mbid LIMIT %(limit)s"
)


class PostgresArtistRepository(ArtistRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _read(self, statement: Any) -> list[Artist]:
        return self._tx.detached(self._tx.execute(statement).scalars().all())

    def find(self, mbid: str) -> Artist | None:
        tracked = self._tx.pending.artists.get(mbid)
        if tracked is not None:
            return hot_sql.artist_copy(tracked)  # a read, not the tracked object
        rows = self._tx.fetch(hot_sql.FIND_ARTIST, {"mbid": mbid})
        return hot_sql.artist_from_row(rows[0]) if rows else None

    def get(self, mbid: str) -> Artist:
        artist = self.find(mbid)
        if artist is None:
            raise UnknownArtist(mbid)
        return artist

    def get_for_update(self, mbid: str) -> Artist:
        tracked = self._tx.pending.artists.get(mbid)
        if tracked is not None:
            return tracked
        self._tx.begin()
        rows = self._tx.fetch(hot_sql.LOCK_ARTIST, {"mbid": mbid}, locks=True)
        if not rows:
            raise UnknownArtist(mbid)
        return self.track(hot_sql.artist_from_row(rows[0]))

    def track(self, artist: Artist) -> Artist:
        self._tx.pending.artists[artist.mbid] = artist
        return artist

    def find_many(self, mbids: Sequence[str]) -> dict[str, Artist]:
        pending = self._tx.pending.artists
        found = {m: hot_sql.artist_copy(pending[m]) for m in mbids if m in pending}
        missing = [m for m in mbids if m not in found]
        if missing:
            for artist in self._read(select(StoredArtist).where(artists.c.mbid.in_(missing))):
                found[artist.mbid] = artist
        return found

    def prices(self, mbids: Sequence[str]) -> dict[str, int]:
        # A locked player's artists were priced with the lock: no round trip.
        pending, held = self._tx.pending.artists, self._tx.held_prices
        found = {
            m: pending[m].price if m in pending else held[m]
            for m in mbids
            if m in pending or m in held
        }
        missing = [m for m in mbids if m not in found]
        if missing:
            found.update({m: a.price for m, a in self.find_many(missing).items()})
        return found

    def add(self, artist: Artist) -> None:
        self._tx.check_open()
        if artist.mbid in self._tx.pending.artists:
            raise ProgrammingError(f"artist {artist.mbid} is already in this unit of work")
        self._tx.begin()
        self._tx.pending.artists[artist.mbid] = artist
        self._tx.pending.new_artists.add(artist.mbid)

    def count(self) -> int:
        return int(self._tx.execute(select(func.count()).select_from(artists)).scalar_one())

    def page(self, after: str | None, limit: int) -> list[Artist]:
        # Keyset on the primary key, rows on the driver's cursor: hundreds of
        # mapped objects per batch cost ten times what the database does.
        rows = self._tx.fetch(_PAGE, {"after": after or "", "limit": limit})
        return [hot_sql.artist_from_row(row) for row in rows]


def artist_writes(tx: Transaction) -> tuple[Writes, Writes]:
    """(inserts, updates) for the artists this unit of work tracks, but those
    read for a trade (``artist_moves``)."""
    inserts: Writes = []
    updates: Writes = []
    for mbid, a in sorted(tx.pending.artists.items()):
        if mbid in tx.pending.moving:
            continue
        row = {
            "mbid": a.mbid,
            "name": a.name,
            "price": a.price,
            "max_shares": a.max_shares,
            "holders": a.holders,
            "lcp": a.last_close_price,
            "ll": a.last_listeners,
            "lp": a.last_playcount,
            "listed_on": a.listed_on,
            "closed": a.last_closed_on,
        }
        (inserts if mbid in tx.pending.new_artists else updates).append(
            (INSERT_ARTIST if mbid in tx.pending.new_artists else UPDATE_ARTIST, row)
        )
    return inserts, updates


def artist_moves(tx: Transaction) -> Writes:
    """The trades' moves of the artists read unlocked for a trade, applied to each
    row as it is at commit: the rule of ``domain.pricing``, in SQL (revision 0004)."""
    moves: Writes = []
    for mbid, read in sorted(tx.pending.moving.items()):
        now = tx.pending.artists[mbid]
        step = now.holders - read.holders
        if _fixed_in_a_trade(now) != _fixed_in_a_trade(read) or step not in (-1, 0, 1):
            raise ProgrammingError("a trade changes an artist's holders by one, nothing else")
        if step:
            moves.append((MOVE_AFTER_BUY if step == 1 else MOVE_AFTER_SALE, {"mbid": mbid}))
    return moves


def _fixed_in_a_trade(a: Artist) -> tuple[object, ...]:
    return (
        a.name,
        a.max_shares,
        a.last_close_price,
        a.last_listeners,
        a.last_playcount,
        a.listed_on,
        a.last_closed_on,
    )


OVERSOLD = "ck_artists_remaining_not_negative"
MOVE_AFTER_BUY = Prepared(
    "datm_move_after_buy",
    "UPDATE artists SET holders = holders + 1,"
    " price = price + datm_buy_move(last_close_price, max_shares - holders, max_shares)"
    " WHERE mbid = %(mbid)s",
)
MOVE_AFTER_SALE = Prepared(
    "datm_move_after_sale",
    "UPDATE artists SET holders = holders - 1,"
    " price = GREATEST(1, price - datm_sell_move(last_close_price, max_shares - holders,"
    " max_shares)) WHERE mbid = %(mbid)s",
)

INSERT_ARTIST = (
    "INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,"
    " last_listeners, last_playcount, listed_on, last_closed_on) VALUES (%(mbid)s, %(name)s,"
    " %(price)s, %(max_shares)s, %(holders)s, %(lcp)s, %(ll)s, %(lp)s, %(listed_on)s,"
    " %(closed)s)"
)
UPDATE_ARTIST = Prepared(
    "datm_update_artist",
    "UPDATE artists SET name = %(name)s, price = %(price)s, max_shares = %(max_shares)s,"
    " holders = %(holders)s, last_close_price = %(lcp)s, last_listeners = %(ll)s,"
    " last_playcount = %(lp)s, last_closed_on = %(closed)s WHERE mbid = %(mbid)s",
)
