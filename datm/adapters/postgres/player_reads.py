"""A player's profile on Postgres: one statement, however many holdings.

The player's row comes with everything the profile shows as arrays, one per
field and aligned (each aggregate of one collection is ordered by the same key),
which the driver parses in C: every held artist with its latest history point,
the trophies, the newest trades with their artists' names, and the latest close
the daily totals count. One statement is one snapshot: money, holdings and
prices are of the same instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from datm.adapters.postgres import hot_sql, schema_check
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.prepared import Prepared, fetch
from datm.domain.errors import UnknownPlayer
from datm.domain.player import Holding
from datm.domain.quotes import Side
from datm.ports.player_reads import HeldArtist, PlayerReads, PlayerRecord, PlayerTrade

_ARTIST = [c.strip() for c in hot_sql.ARTIST_COLUMNS.split(",")]
_PLAYER = [c.strip() for c in hot_sql.PLAYER_COLUMNS.split(",")]

# Each collection's fields, in the order the rows are read back.
HELD = [*(f"a.{c}" for c in _ARTIST), "h.price_paid", "h.since", "x.points", "x.dividend"]
TROPHIES = ["t.uid", "t.awarded_at"]
TRADES = ["t.mbid", "coalesce(a.name, t.mbid)", "t.side", "t.price", "t.at"]


def _arrays(fields: Sequence[str], order: str = "") -> str:
    """Aligned arrays: aggregates of one query level read the same rows in the
    same order; an order is paid for (a sort per array) only where it is shown."""
    by = f" ORDER BY {order}" if order else ""
    return ", ".join(f"array_agg({f}{by})" for f in fields)


PROFILE = Prepared(
    "datm_player_profile",
    f"SELECT {', '.join(f'p.{c}' for c in _PLAYER)},"
    " (SELECT max(c.day) FROM closes c"
    "   WHERE c.paid_from IS NOT NULL OR c.finished_at IS NOT NULL),"
    " held.*, won.*, traded.*"
    " FROM players p"
    f" CROSS JOIN LATERAL (SELECT {_arrays(HELD)}"
    "   FROM holdings h JOIN artists a ON a.mbid = h.mbid"
    f"   {hot_sql.LATEST_CLOSE.format(mbid='h.mbid')}"
    "   WHERE h.player = p.name) held"
    f" CROSS JOIN LATERAL (SELECT {_arrays(TROPHIES)}"
    "   FROM trophies t WHERE t.player = p.name) won"
    f" CROSS JOIN LATERAL (SELECT {_arrays(TRADES, 't.id DESC')}"
    "   FROM (SELECT id, mbid, side, price, at FROM trades"
    "     WHERE player = p.name ORDER BY id DESC LIMIT %(trades)s) t"
    "   LEFT JOIN artists a ON a.mbid = t.mbid) traded"
    " WHERE p.name = %(player)s",
)


def _columns(row: Sequence[Any], start: int, width: int) -> list[list[Any]]:
    """``width`` aligned arrays from ``row[start:]`` (a NULL array: none)."""
    return [list(a) if a is not None else [] for a in row[start : start + width]]


def record_from_row(row: Sequence[Any]) -> PlayerRecord:
    player = hot_sql.player_from_row(row)
    latest_close = row[len(_PLAYER)]
    at = len(_PLAYER) + 1
    held: dict[str, HeldArtist] = {}
    for values in zip(*_columns(row, at, len(HELD)), strict=True):
        artist = hot_sql.artist_from_row(values)
        paid, since, points, dividend = values[len(_ARTIST) :]
        player.holdings[artist.mbid] = Holding(artist.mbid, paid, since)
        held[artist.mbid] = HeldArtist(artist, points or 0, dividend or 0)
    at += len(HELD)
    uids, awarded = _columns(row, at, len(TROPHIES))
    player.trophies = dict(zip(uids, awarded, strict=True))
    at += len(TROPHIES)
    trades = tuple(
        PlayerTrade(mbid, name, Side(side), price, when)
        for mbid, name, side, price, when in zip(*_columns(row, at, len(TRADES)), strict=True)
    )
    return PlayerRecord(player, latest_close, held, trades)


class PostgresPlayerReads(PlayerReads):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def profile(self, name: str, trades: int) -> PlayerRecord:
        if not self._schema.verified:
            self._schema.require(self._engine)
        params = {"player": name, "trades": trades}
        # Prepared once per connection: planning it costs more than running it.
        with translated(), self._engine.connect() as conn:
            rows = fetch(conn, PROFILE, params)
        if not rows:
            raise UnknownPlayer(name)
        return record_from_row(rows[0])
