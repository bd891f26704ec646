"""Hand-written SQL for the trade's hot path, and rows into domain objects.

Every statement here is one round trip; what a player's lock protects (the
holdings and trophies) is read by a statement issued after the lock is held.
"""

from __future__ import annotations

import json
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


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


HOLDINGS_JSON = (
    "(SELECT json_agg(json_build_array(h.mbid, h.price_paid, h.since)) FROM holdings h"
    " WHERE h.player = %(player)s)"
)
TROPHIES_JSON = (
    "(SELECT json_agg(json_build_array(t.uid, t.awarded_at)) FROM trophies t"
    " WHERE t.player = %(player)s)"
)
HELD_PRICES_JSON = (
    "(SELECT json_agg(json_build_array(a.mbid, a.price)) FROM artists a"
    " JOIN holdings h ON h.mbid = a.mbid WHERE h.player = %(player)s)"
)
EXTRAS = f"{HOLDINGS_JSON}, {TROPHIES_JSON}, {HELD_PRICES_JSON}"

FIND_PLAYER = Prepared(
    "datm_find_player",
    f"SELECT {PLAYER_COLUMNS}, {HOLDINGS_JSON}, {TROPHIES_JSON}, NULL"
    " FROM players WHERE name = %(player)s",
)
LOCK_PLAYER = Prepared(
    "datm_lock_player",
    f"SELECT {PLAYER_COLUMNS} FROM players WHERE name = %(player)s FOR UPDATE",
)
PLAYER_EXTRAS = Prepared("datm_player_extras", f"SELECT {EXTRAS}")
_FIND_ARTIST = f"SELECT {ARTIST_COLUMNS} FROM artists WHERE mbid = %(mbid)s"
FIND_ARTIST = Prepared("datm_find_artist", _FIND_ARTIST)
LOCK_ARTIST = Prepared("datm_lock_artist", f"{_FIND_ARTIST} FOR UPDATE")
# A trade's read in one round trip: the player's row lock, then (a statement
# whose snapshot is taken after that lock was granted) the artist's row, unlocked,
# with the player's row, holdings, trophies and held artists' prices. The
# artist's row is locked only by the trade's last statement, which applies the
# move to it (artists.MOVE_AFTER_BUY). No row: the player or the artist is unknown.
LOCK_PLAYER_ONLY = Prepared(
    "datm_lock_player_only", "SELECT 1 FROM players WHERE name = %(player)s FOR UPDATE"
)
READ_ARTIST_AND_PLAYER = Prepared(
    "datm_read_artist_and_player",
    f"SELECT {_prefixed('a', ARTIST_COLUMNS)}, {EXTRAS}, {_prefixed('p', PLAYER_COLUMNS)}"
    " FROM artists a, players p WHERE a.mbid = %(mbid)s AND p.name = %(player)s",
)
# What a quote reads: the player as ``FIND_PLAYER`` and the artist, if listed.
FIND_PLAYER_AND_ARTIST = Prepared(
    "datm_find_player_and_artist",
    f"SELECT {_prefixed('p', PLAYER_COLUMNS)}, {HOLDINGS_JSON}, {TROPHIES_JSON},"
    f" {_prefixed('a', ARTIST_COLUMNS)} FROM players p LEFT JOIN artists a"
    " ON a.mbid = %(mbid)s WHERE p.name = %(player)s",
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


def _decode(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(json.loads(raw) if isinstance(raw, str) else raw)


def attach_extras(player: Player, held: Any, awarded: Any) -> Player:
    player.holdings = {
        m: Holding(m, int(p), datetime.fromisoformat(s)) for m, p, s in _decode(held)
    }
    player.trophies = {u: datetime.fromisoformat(a) for u, a in _decode(awarded)}
    return player


def held_prices(raw: Any) -> dict[str, int]:
    return {mbid: int(price) for mbid, price in _decode(raw)}
