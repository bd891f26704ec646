"""Hand-written SQL for the trade's hot path, and rows into domain objects.

Every statement here is one round trip; what a player's lock protects (the
holdings and trophies) is read by a statement issued after the lock is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from datm.adapters.postgres.prepared import Prepared
from datm.domain.artist import Artist
from datm.domain.player import Holding, Player

PLAYER_COLUMNS = (
    "name, league, money, created_at, trades_made, points_all_time, points_daily,"
    " points_weekly, points_monthly, points_day"
)
ARTIST_COLUMNS = (
    "mbid, name, price, max_shares, holders, last_close_price, last_listeners,"
    " last_playcount, listed_on, last_closed_on"
)


# The points and dividend (x.points, x.dividend) of the latest history point of
# the artist ``{mbid}`` names; NULL before its first close.
LATEST_CLOSE = (
    "LEFT JOIN LATERAL (SELECT y.points, y.dividend FROM history y"
    " WHERE y.mbid = {mbid} ORDER BY y.day DESC LIMIT 1) x ON true"
)


def prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


# A player's holdings and trophies come with its row as arrays, one per field and
# aligned (every aggregate of one query level reads its rows in the same order):
# the driver parses arrays of text, bigint and timestamptz in C. The prices of
# the held artists come aligned with the holdings where a trade needs them.
_HOLDINGS = (
    "LATERAL (SELECT array_agg(h.mbid) AS held, array_agg(h.price_paid) AS paid,"
    " array_agg(h.since) AS since{prices} FROM holdings h{join} WHERE h.player = {name}) hs"
)
_TROPHIES = (
    "LATERAL (SELECT array_agg(t.uid) AS uids, array_agg(t.awarded_at) AS awarded"
    " FROM trophies t WHERE t.player = {name}) ts"
)


def _extras_of(name: str, prices: bool = False) -> str:
    held = _HOLDINGS.format(
        name=name,
        prices=", array_agg(x.price) AS prices" if prices else "",
        join=" JOIN artists x ON x.mbid = h.mbid" if prices else "",
    )
    return f"{held} CROSS JOIN {_TROPHIES.format(name=name)}"


# A player read with its extras: PLAYER_COLUMNS, then held, paid, since, uids, awarded.
PLAYER_READ = f"{prefixed('p', PLAYER_COLUMNS)}, hs.held, hs.paid, hs.since, ts.uids, ts.awarded"
PLAYER_READ_WIDTH = 15

FIND_PLAYER = Prepared(
    "datm_find_player",
    f"SELECT {PLAYER_READ} FROM players p CROSS JOIN {_extras_of('p.name')}"
    " WHERE p.name = %(player)s",
)
LOCK_PLAYER = Prepared(
    "datm_lock_player",
    f"SELECT {PLAYER_COLUMNS} FROM players WHERE name = %(player)s FOR UPDATE",
)
# After LOCK_PLAYER: held, paid, since, uids, awarded, prices.
PLAYER_EXTRAS = Prepared(
    "datm_player_extras",
    "SELECT hs.held, hs.paid, hs.since, ts.uids, ts.awarded, hs.prices"
    f" FROM {_extras_of('%(player)s', prices=True)}",
)
_FIND_ARTIST = f"SELECT {ARTIST_COLUMNS} FROM artists WHERE mbid = %(mbid)s"
FIND_ARTIST = Prepared("datm_find_artist", _FIND_ARTIST)
LOCK_ARTIST = Prepared("datm_lock_artist", f"{_FIND_ARTIST} FOR UPDATE")
# A trade's read in one round trip: the player's row lock, then (a statement
# whose snapshot is taken after that lock was granted) the artist's row, unlocked,
# with the player's row, holdings, trophies and held artists' prices, and whether
# a trade already carries the quote (its partial index's predicate stated, so that
# a generic plan can use it). The artist's row is locked only by the trade's last
# statement, which applies the move to it (artists.MOVE_AFTER_BUY). No row: the
# player or the artist is unknown. Columns: ARTIST_COLUMNS, PLAYER_READ, prices, used.
LOCK_PLAYER_ONLY = Prepared(
    "datm_lock_player_only", "SELECT 1 FROM players WHERE name = %(player)s FOR UPDATE"
)
# The same lock behind the market gate, which raises DM001 while the close holds
# the market (it is evaluated before the row is locked): one statement, not two.
LOCK_PLAYER_GATED = Prepared(
    "datm_lock_player_gated",
    "SELECT datm_require_market_open(%(market)s) FROM players WHERE name = %(player)s FOR UPDATE",
)
READ_ARTIST_AND_PLAYER = Prepared(
    "datm_read_artist_and_player",
    f"SELECT {prefixed('a', ARTIST_COLUMNS)}, {PLAYER_READ}, hs.prices,"
    " EXISTS (SELECT 1 FROM trades t WHERE t.quote_id = %(quote)s AND t.quote_id <> '')"
    f" FROM artists a, players p CROSS JOIN {_extras_of('p.name', prices=True)}"
    " WHERE a.mbid = %(mbid)s AND p.name = %(player)s",
)
# What a quote reads: the player as ``FIND_PLAYER``, then the artist, if listed.
FIND_PLAYER_AND_ARTIST = Prepared(
    "datm_find_player_and_artist",
    f"SELECT {PLAYER_READ}, {prefixed('a', ARTIST_COLUMNS)}"
    f" FROM players p CROSS JOIN {_extras_of('p.name')}"
    " LEFT JOIN artists a ON a.mbid = %(mbid)s WHERE p.name = %(player)s",
)
PLAYER_EXISTS = "SELECT EXISTS (SELECT 1 FROM players WHERE name = %(player)s)"
FIND_SESSION = Prepared(
    "datm_find_session",
    "SELECT key_hash, player, lastfm_key, created_at FROM sessions WHERE key_hash = %(key)s",
)


def player_from_row(row: Any) -> Player:
    player = Player(row[0], created_at=row[3], league=row[1], money=row[2])
    player.trades_made = row[4]
    player.points_all_time, player.points_daily = row[5], row[6]
    player.points_weekly, player.points_monthly, player.points_day = row[7], row[8], row[9]
    return player


def artist_from_row(row: Any) -> Artist:
    return Artist(
        mbid=row[0],
        name=row[1],
        price=row[2],
        max_shares=row[3],
        holders=row[4],
        last_close_price=row[5],
        last_listeners=row[6],
        last_playcount=row[7],
        listed_on=row[8],
        last_closed_on=row[9],
    )


def player_copy(player: Player) -> Player:
    """A copy of a tracked player, to hand out as a read: changing it writes nothing.
    (``copy.deepcopy`` of a mapped object costs ten times as much, for its state.)"""
    twin = Player(player.name, created_at=player.created_at, league=player.league)
    twin.money, twin.trades_made = player.money, player.trades_made
    twin.holdings, twin.trophies = dict(player.holdings), dict(player.trophies)
    twin.points_all_time, twin.points_daily = player.points_all_time, player.points_daily
    twin.points_weekly, twin.points_monthly = player.points_weekly, player.points_monthly
    twin.points_day = player.points_day
    return twin


def artist_copy(artist: Artist) -> Artist:
    """A copy of a tracked artist, to hand out as a read: changing it writes nothing."""
    return Artist(
        mbid=artist.mbid,
        name=artist.name,
        price=artist.price,
        max_shares=artist.max_shares,
        holders=artist.holders,
        last_close_price=artist.last_close_price,
        last_listeners=artist.last_listeners,
        last_playcount=artist.last_playcount,
        listed_on=artist.listed_on,
        last_closed_on=artist.last_closed_on,
    )


def read_player(row: Sequence[Any]) -> Player:
    """A player from the ``PLAYER_READ`` columns of a row."""
    return attach_extras(player_from_row(row), *row[10:PLAYER_READ_WIDTH])


def attach_extras(
    player: Player,
    held: list[str] | None,
    paid: list[int] | None,
    since: list[datetime] | None,
    uids: list[str] | None,
    awarded: list[datetime] | None,
) -> Player:
    """Holdings and trophies from their aligned arrays (None: there are none)."""
    player.holdings = (
        {m: Holding(m, p, t) for m, p, t in zip(held, paid, since, strict=True)}
        if held and paid and since
        else {}
    )
    player.trophies = dict(zip(uids, awarded, strict=True)) if uids and awarded else {}
    return player


def held_prices(held: list[str] | None, prices: list[int] | None) -> dict[str, int]:
    return dict(zip(held, prices, strict=True)) if held and prices else {}
