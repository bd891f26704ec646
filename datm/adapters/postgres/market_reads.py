"""Market reads on Postgres, each one statement prepared once per connection
(planning them cost more than running them): an artist's market and history and
the newest trades on their keys, and the aggregates from summaries of trades up to
a mark minutes ago (``trade_summaries.py``), written set-based by the reads that
need them, and row counts kept by triggers (revision 0009). A read costs what the
summaries it reads and the trades after the mark cost (at most ``SETTLE`` plus a
``CHUNK`` of them, plus the time since the mark was last moved), never a pass over
every trade or artist, nor over the day's trades.

A read reads a summary, its mark and the trades after the mark in one statement
(one snapshot), so the same trade is never counted twice nor missed; then, if the
mark is a chunk or more behind, it moves it for the next reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres import hot_sql, schema_check
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.prepared import Prepared, fetch
from datm.adapters.postgres.trade_summaries import (
    ALL_TIME,
    FIRST_TRADE_DAY,
    TradeSummaries,
    mark_at,
    settled_day,
    start,
)
from datm.domain.artist import HistoryPoint
from datm.domain.errors import UnknownArtist
from datm.domain.quotes import Side
from datm.ports.market_reads import (
    ArtistMarket,
    GameCounts,
    ListedArtist,
    MarketReads,
    NamedTrade,
)

FOLD_AT = 64  # row_counts rows per table beyond which a read folds them into one

MARKET = Prepared(
    "datm_market",
    f"SELECT {hot_sql.prefixed('a', hot_sql.ARTIST_COLUMNS)}, x.points, x.dividend,"
    " EXISTS (SELECT 1 FROM holdings h WHERE h.player = %(player)s AND h.mbid = a.mbid)"
    f" FROM artists a {hot_sql.LATEST_CLOSE.format(mbid='a.mbid')} WHERE a.mbid = %(mbid)s",
)
MARKET_WIDTH = len(hot_sql.ARTIST_COLUMNS.split(","))  # then points, dividend, held
# No row: not listed; one row of NULLs: listed, no history from ``since`` on.
HISTORY = Prepared(
    "datm_market_history",
    "SELECT y.day, y.price, y.points, y.dividend FROM artists a"
    " LEFT JOIN history y ON y.mbid = a.mbid AND y.day >= %(since)s"
    " WHERE a.mbid = %(mbid)s ORDER BY y.day",
)
# A batch of listed artists by keyset, only the columns analytics reads.
LISTED = Prepared(
    "datm_market_listed",
    "SELECT mbid, name, price, max_shares, max_shares - holders, last_listeners,"
    " last_playcount FROM artists WHERE mbid > %(after)s ORDER BY mbid LIMIT %(limit)s",
)
RECENT_TRADES = Prepared(
    "datm_market_recent_trades",
    # The name by key, per trade: a join's generic plan, not knowing the limit,
    # hashes every artist.
    "SELECT t.player, t.mbid,"
    " coalesce((SELECT a.name FROM artists a WHERE a.mbid = t.mbid), t.mbid),"
    " t.side, t.price, t.at"
    " FROM (SELECT id, player, mbid, side, price, at FROM trades"
    "   ORDER BY id DESC LIMIT %(limit)s) t ORDER BY t.id DESC",
)

# Complete days from their summaries; the days after, their parts (trades before
# the parts' mark) and the trades from the mark on. The mark rides on 'missing'.
COUNTS = Prepared(
    "datm_market_counts",
    f"""
WITH from_day AS (SELECT greatest(%(since)s::date, coalesce({FIRST_TRADE_DAY}, %(settled)s::date))
                  AS day),
mark AS (SELECT max(through) AS at FROM trade_days WHERE through IS NOT NULL)
SELECT 'players' AS kind, NULL::date AS day, coalesce(sum(delta), 0) AS n, count(*) AS parts,
    NULL::timestamptz AS mark
    FROM row_counts WHERE counted = 'players'
UNION ALL SELECT 'artists', NULL, coalesce(sum(delta), 0), count(*), NULL
    FROM row_counts WHERE counted = 'artists'
UNION ALL SELECT 'missing', NULL, greatest(0, %(settled)s::date - (SELECT day FROM from_day))
    - (SELECT count(*) FROM trade_days WHERE day >= (SELECT day FROM from_day)
       AND day < %(settled)s::date AND through IS NULL), 0, (SELECT at FROM mark)
UNION ALL SELECT 'day', day, trades, 0, NULL FROM trade_days
    WHERE day >= %(since)s::date AND trades > 0
        AND CASE WHEN day < %(settled)s::date THEN through IS NULL ELSE through IS NOT NULL END
UNION ALL SELECT 'day', (at AT TIME ZONE 'UTC')::date, count(*), 0, NULL FROM trades
    WHERE at >= %(seen)s::timestamptz
        AND at >= greatest(%(live_from)s::timestamptz, (SELECT at FROM mark)) GROUP BY 2
""",
)

# The window's ranking up to its mark, read down its index past the artists also
# bought since (``live``), whose buys are added up one by one; with the mark (NULL:
# no window), on a row of NULLs if nothing was bought. Lookups by key, not joins:
# the planner cannot know how few trades follow the mark, and would hash the
# whole window and artists table to join them. ``seen`` (also in COUNTS): a mark
# this process read before, a lower bound of the mark (marks only move forward; a
# window is forgotten only a day after its mark last moved, and built again at a
# later one) that the planner can estimate, where it takes a third of the trades
# for ``at >= (a subquery)`` and plans (and compiles, JIT) for as many.
# The window's n-th buys are a floor of the answer's n-th (buys only add up), so an
# artist whose window buys are more than the live tail's most below it cannot
# reach the top: only the window's head and the live artists above the floor are
# added up, whatever the number of artists bought since the mark.
MOST_BOUGHT = Prepared(
    "datm_market_most_bought",
    """
WITH mark AS (SELECT through FROM trade_windows_built WHERE first_day = %(first)s::date),
live AS (SELECT mbid, count(*) AS buys FROM trades
         WHERE at >= %(seen)s::timestamptz AND at >= (SELECT through FROM mark)
             AND side = 'buy' GROUP BY mbid),
nth AS (SELECT coalesce((SELECT w.buys FROM trade_windows w WHERE w.first_day = %(first)s::date
                         ORDER BY w.buys DESC, w.mbid OFFSET %(limit)s::bigint - 1 LIMIT 1), 0)
              AS buys),
most AS (SELECT coalesce(max(buys), 0) AS buys FROM live),
ranked AS (
    SELECT w.mbid, w.buys + coalesce(l.buys, 0) AS buys FROM trade_windows w
        LEFT JOIN live l ON l.mbid = w.mbid
        WHERE w.first_day = %(first)s::date
            AND w.buys >= (SELECT buys FROM nth) - (SELECT buys FROM most)
    UNION ALL
    SELECT l.mbid, l.buys FROM live l WHERE l.buys >= (SELECT buys FROM nth)
        AND NOT EXISTS (SELECT 1 FROM trade_windows w
                        WHERE w.first_day = %(first)s::date AND w.mbid = l.mbid)
),
top AS (SELECT mbid, buys FROM ranked ORDER BY buys DESC, mbid LIMIT %(limit)s::bigint)
SELECT t.mbid, coalesce((SELECT a.name FROM artists a WHERE a.mbid = t.mbid), t.mbid),
    t.buys, m.through
FROM (SELECT (SELECT through FROM mark) AS through) m LEFT JOIN top t ON true
ORDER BY t.buys DESC NULLS LAST, t.mbid
""",
)

# Many rows of one count folded into one: each row is deleted once (a second
# folder waits for the first, then finds it gone), so its delta is kept once.
FOLD_COUNTS = text(
    "WITH gone AS (DELETE FROM row_counts WHERE counted = :counted RETURNING delta)"
    " INSERT INTO row_counts (counted, delta)"
    " SELECT :counted, sum(delta) FROM gone HAVING count(*) > 0"
)


class PostgresMarketReads(MarketReads):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)
        self._summaries = TradeSummaries(self._connect)
        self._seen: dict[date | None, datetime] = {}  # window (None: counts) -> a mark read

    def _connect(self) -> Connection:
        if not self._schema.verified:
            self._schema.require(self._engine)
        return self._engine.connect()

    def _fetch(self, statement: Prepared, **params: Any) -> Sequence[Any]:
        with translated(), self._connect() as conn:
            return fetch(conn, statement, params)

    def market(self, mbid: str, player: str | None) -> ArtistMarket | None:
        rows = self._fetch(MARKET, mbid=mbid, player=player)
        if not rows:
            return None
        row = rows[0]
        points, dividend, held = row[MARKET_WIDTH:]
        return ArtistMarket(hot_sql.artist_from_row(row), points or 0, dividend or 0, held)

    def history(self, mbid: str, since: date) -> list[HistoryPoint]:
        rows = self._fetch(HISTORY, mbid=mbid, since=since)
        if not rows:
            raise UnknownArtist(mbid)
        return [HistoryPoint(mbid, *r) for r in rows if r[0] is not None]

    def listed(self, after: str, limit: int) -> list[ListedArtist]:
        return list(map(ListedArtist._make, self._fetch(LISTED, after=after, limit=limit)))

    def recent_trades(self, limit: int) -> list[NamedTrade]:
        rows = self._fetch(RECENT_TRADES, limit=limit)
        return [NamedTrade(p, m, n, Side(s), price, at) for p, m, n, s, price, at in rows]

    def most_bought(
        self, limit: int, since: date | None, now: datetime
    ) -> list[tuple[str, str, int]]:
        first = ALL_TIME if since is None else since
        target = max(start(first), mark_at(now))
        params = {"first": first, "limit": limit, "seen": self._seen.get(first, start(first))}
        rows = self._fetch(MOST_BOUGHT, **params)
        through = rows[0][3]
        if through is None:
            with translated():
                self._summaries.build_window(first, target)
            rows = self._fetch(MOST_BOUGHT, **params)
        elif through < target:  # right as read; moved for the next reads
            with translated():
                self._summaries.move_window(first, target)
        if rows[0][3] is not None:
            self._seen[first] = rows[0][3]
        return [(mbid, name, int(buys)) for mbid, name, buys, _ in rows if mbid is not None]

    def counts(self, since: date, now: datetime) -> GameCounts:
        settled = settled_day(now)
        live_from = start(max(since, settled))
        # A mark seen on or after ``settled`` is the mark's lower bound (parts of days
        # not complete stay); an older one is below ``live_from`` anyway.
        seen = max(live_from, self._seen.get(None, live_from))
        params = {"since": since, "settled": settled, "live_from": live_from, "seen": seen}
        rows = self._fetch(COUNTS, **params)  # (kind, day, n, parts, mark)
        if any(kind == "missing" and n > 0 for kind, _, n, _, _ in rows):
            with translated():
                self._summaries.summarise(since, settled - timedelta(days=1))
            rows = self._fetch(COUNTS, **params)
        totals: dict[str, int] = {}
        days: dict[date, int] = {}
        target = mark_at(now)
        for kind, day, n, parts, mark in rows:
            if kind in ("players", "artists"):
                totals[kind] = int(n)
                if parts > FOLD_AT:
                    self._fold(kind)
            elif kind == "day":
                days[day] = days.get(day, 0) + int(n)
            else:  # 'missing', with the parts' mark
                if mark is not None:
                    self._seen[None] = mark
                if mark is None or mark < target:  # right as read; moved for the next reads
                    with translated():
                        self._summaries.move_parts(target, settled)
        return GameCounts(totals["players"], totals["artists"], tuple(sorted(days.items())))

    def _fold(self, counted: str) -> None:
        with translated(), self._connect() as conn, conn.begin():
            conn.execute(FOLD_COUNTS, {"counted": counted})
