"""The market's tops on Postgres, without reading every artist (revision 0012).

Top by price reads ``ix_artists_price_mbid`` down, ten rows for ten artists.

Top by gain: an artist's gain since a day is its price less its first closing price on or after
that day. It splits in two: its last closing price less that first price, which
only a close changes, and its move since the last close (price less last closing
price), which trades change. ``gain_windows`` holds the first part per window as
of the latest finished close, written set-based by the first read after a close;
the partial index ``ix_artists_moved`` holds the second, for the artists that moved.

A read walks both orders down together, ``depth`` rows each, and ranks the
artists it met by their exact gain, computed from the records in the same
statement (one snapshot). An artist it did not meet is bounded by the last rows
of the walk: in the window and not moved, at most the window's last gain; moved,
at most that plus the last move (or the last move alone, outside the window, whose
first closing price is its last); neither, 0. When the n-th artist met gains more
than every bound, the answer is exact; otherwise the walk goes deeper, and past
``MAX_DEPTH`` (or while a close is paying, when closing prices change under the
window, or when the top reaches gains of 0) the read ranks every artist, as
before: ~200-300 ms at 100,000 artists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, text

from datm.adapters.postgres import hot_sql, schema_check
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.prepared import Prepared, fetch
from datm.ports.market_reads import ArtistMarket, ArtistRankings

FIRST_DEPTH = 64
MAX_DEPTH = 8192
# Fresh statistics, or the planner takes a new window for a few rows and reads all
# of it to find its top (autovacuum analyses it only later, if at all).
ANALYZE = text("ANALYZE gain_windows")
BUILD_LOCK = text("SELECT pg_advisory_xact_lock(1684108397, 2)")  # "datm", 2: gain windows

# The latest finished close, and whether a close is paying (changing closing prices).
_STATE = (
    "SELECT coalesce(max(day) FILTER (WHERE finished_at IS NOT NULL), DATE '0001-01-01')"
    " AS closed, coalesce(bool_or(finished_at IS NULL AND paid_from IS NOT NULL), false)"
    " AS paying FROM closes"
)
# The first closing price on or after ``since`` of the artist ``c``.
_FIRST_PRICE = (
    "LATERAL (SELECT h.price FROM history h WHERE h.mbid = c.mbid AND h.day >= %(since)s::date"
    " ORDER BY h.day LIMIT 1) f"
)
# The artists ``c`` of ``{artists}`` by exact gain.
_RANKED = (
    f"SELECT {hot_sql.prefixed('c', hot_sql.ARTIST_COLUMNS)},"
    " c.price - coalesce(f.price, c.price) AS gain"
    f" FROM {{artists}} LEFT JOIN {_FIRST_PRICE} ON true"
    " ORDER BY gain DESC, c.mbid LIMIT %(limit)s::bigint"
)
# The artists the walk met, each found by its key (whatever the plan guesses of
# the walk's depth).
_MET = (
    "(SELECT mbid FROM a UNION SELECT mbid FROM b) k"
    " CROSS JOIN LATERAL (SELECT * FROM artists WHERE mbid = k.mbid LIMIT 1) c"
)
_WITH_CLOSE = (
    f"SELECT r.*, x.points, x.dividend FROM r {hot_sql.LATEST_CLOSE.format(mbid='r.mbid')}"
)
WIDTH = len(hot_sql.ARTIST_COLUMNS.split(","))  # then gain, points, dividend

_LAST = "ORDER BY gain, mbid DESC LIMIT 1"  # the walk's last row
_LAST_MOVE = _LAST.replace("gain", "move")
WALK = Prepared(
    "datm_gain_walk",
    f"""
WITH state AS ({_STATE}),
fresh AS (SELECT NOT s.paying AND EXISTS (SELECT 1 FROM gain_windows_built b
              WHERE b.first_day = %(since)s::date AND b.closed_through = s.closed) AS ok,
              s.paying FROM state s),
a AS (SELECT w.mbid, w.gain FROM gain_windows w
      WHERE w.first_day = %(since)s::date AND w.closed_through = (SELECT closed FROM state)
      ORDER BY w.gain DESC, w.mbid LIMIT %(depth)s::bigint),
b AS (SELECT mbid, price - last_close_price AS move FROM artists
      WHERE price <> last_close_price
      ORDER BY price - last_close_price DESC, mbid LIMIT %(depth)s::bigint),
r AS ({_RANKED.format(artists=_MET)}),
top AS ({_WITH_CLOSE})
SELECT fresh.ok, fresh.paying,
    (SELECT count(*) FROM a), (SELECT array[gain::text, mbid] FROM a {_LAST}),
    (SELECT count(*) FROM b), (SELECT array[move::text, mbid] FROM b {_LAST_MOVE}),
    top.*
FROM fresh LEFT JOIN top ON true ORDER BY top.gain DESC, top.mbid
""",
)
TOP_BY_PRICE = Prepared(
    "datm_top_by_price",
    f"WITH r AS (SELECT {hot_sql.ARTIST_COLUMNS} FROM artists"
    " ORDER BY price DESC, mbid LIMIT %(limit)s::bigint)"
    f" SELECT r.*, x.points, x.dividend FROM r {hot_sql.LATEST_CLOSE.format(mbid='r.mbid')}"
    " ORDER BY r.price DESC, r.mbid",
)
HEAD = 6  # ok, paying, then the walk's counts and last values
# Every artist ranked: the walk's way out, rare, so not prepared (nor checked for
# its plan, which reads the whole table by design).
SCAN = (
    f"WITH r AS ({_RANKED.format(artists='artists c')}) {_WITH_CLOSE} ORDER BY r.gain DESC, r.mbid"
)

_FIRST_PRICE_BOUND = _FIRST_PRICE.replace("%(since)s::date", "CAST(:since AS date)")
# One statement, one snapshot: the window as of the latest finished close, unless a
# close is paying or it is there already (another reader wrote it first).
BUILD = text(
    f"""
WITH state AS ({_STATE}),
go AS (SELECT s.closed FROM state s WHERE NOT s.paying AND NOT EXISTS
       (SELECT 1 FROM gain_windows_built b
        WHERE b.first_day = :since AND b.closed_through = s.closed)),
put AS (INSERT INTO gain_windows (first_day, closed_through, mbid, gain)
        SELECT :since, go.closed, c.mbid, c.last_close_price - f.price
        FROM go CROSS JOIN artists c JOIN {_FIRST_PRICE_BOUND} ON true)
INSERT INTO gain_windows_built (first_day, closed_through) SELECT :since, closed FROM go
"""
)
# Windows of earlier closes are read no more.
_FORGET = (
    f"WITH state AS ({_STATE})"
    " DELETE FROM {table} WHERE closed_through < (SELECT closed FROM state)"
)
FORGET = [text(_FORGET.format(table=t)) for t in ("gain_windows", "gain_windows_built")]


def _ranked(rows: Sequence[Any]) -> list[tuple[ArtistMarket, int]]:
    return [
        (
            ArtistMarket(
                hot_sql.artist_from_row(row), row[WIDTH + 1] or 0, row[WIDTH + 2] or 0, False
            ),
            int(row[WIDTH]),
        )
        for row in rows
    ]


def _unbeaten(rows: Sequence[Any], limit: int, depth: int) -> bool:
    """Whether no artist the walk did not meet can come before its ``limit``-th.

    Each kind of artist not met has a bound on its gain and, when it would tie the
    bound, on its MBID (the walk reads ties in MBID order): in the window and not
    moved; in it and moved; moved outside it; neither (gain 0, any MBID)."""
    _, _, a_seen, a_last, b_seen, b_last = rows[0][:HEAD]
    met = [row[HEAD:] for row in rows if row[HEAD] is not None]
    if len(met) < limit:
        return False
    gain, mbid = int(met[limit - 1][WIDTH]), met[limit - 1][0]

    def before(bound: int, after: str | None) -> bool:
        return gain > bound or (gain == bound and after is not None and after >= mbid)

    bounds: list[tuple[int, str | None]] = [(0, None)]
    a_more, b_more = a_seen == depth, b_seen == depth
    if a_more:
        bounds.append((int(a_last[0]), a_last[1]))
    if b_more:
        move = int(b_last[0])
        bounds.append((move, b_last[1]) if move > 0 else (0, None))
    if a_more and b_more:
        bounds.append((int(a_last[0]) + int(b_last[0]), max(a_last[1], b_last[1])))
    return all(before(bound, after) for bound, after in bounds)


class PostgresArtistRankings(ArtistRankings):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def top_by_price(self, limit: int) -> list[ArtistMarket]:
        if not self._schema.verified:
            self._schema.require(self._engine)
        with translated(), self._engine.connect() as conn:
            rows = fetch(conn, TOP_BY_PRICE, {"limit": limit})
            conn.rollback()
        return [
            ArtistMarket(hot_sql.artist_from_row(row), row[WIDTH] or 0, row[WIDTH + 1] or 0, False)
            for row in rows
        ]

    def top_by_gain(self, since: date, limit: int) -> list[tuple[ArtistMarket, int]]:
        if not self._schema.verified:
            self._schema.require(self._engine)
        params: dict[str, Any] = {"since": since, "limit": limit}
        depth = max(FIRST_DEPTH, 4 * limit)
        built = False
        with translated():
            while depth <= MAX_DEPTH:
                rows = self._walk({**params, "depth": depth})
                ok, paying, a_seen, _, b_seen, _ = rows[0][:HEAD]
                if not ok:
                    if paying or built:
                        break  # closing prices are changing, or another close ended
                    self._build(since)  # with no other connection held meanwhile
                    built = True
                elif _unbeaten(rows, limit, depth):
                    return _ranked([row[HEAD:] for row in rows][:limit])
                elif a_seen < depth and b_seen < depth:
                    break  # met every artist that can gain: the top reaches gains of 0
                else:
                    depth *= 8
            with self._engine.connect() as conn:
                return _ranked(conn.exec_driver_sql(SCAN, params).all())

    def _walk(self, params: dict[str, Any]) -> Sequence[Any]:
        with self._engine.connect() as conn:
            return fetch(conn, WALK, params)

    def _build(self, since: date) -> None:
        # A transaction of its own: the pool's connections are in autocommit, where
        # begin() sends no BEGIN and the lock would go with its own statement.
        with self._engine.connect() as conn:
            conn.execution_options(isolation_level="READ COMMITTED")  # reset by the pool
            with conn.begin():
                conn.execute(BUILD_LOCK)
                conn.execute(BUILD, {"since": since})
                for forget in FORGET:
                    conn.execute(forget)
                conn.execute(ANALYZE)
