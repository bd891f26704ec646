"""Market reads on Postgres, each one statement prepared once per connection
(planning them cost more than running them): an artist's market and history and
the newest trades on their keys, and the aggregates from trades summarised per
complete UTC day, written set-based by the first read that needs a day, and row
counts kept by triggers (revision 0009). A read costs what the summaries it reads
and today's trades cost, never a pass over every trade or artist.

A day counts as complete ``SETTLE`` after its end, when no trade stamped with it
can still commit; until then its trades are counted from ``trades`` itself (its
index on ``at``). A complete day is summarised once (under an advisory lock,
checked again under it), and a run of complete days ranked once, so the same
trade is never counted twice nor missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres import hot_sql, schema_check
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.prepared import Prepared, fetch
from datm.domain.artist import HistoryPoint
from datm.domain.errors import UnknownArtist
from datm.domain.quotes import Side
from datm.ports.market_reads import ArtistMarket, GameCounts, MarketReads, NamedTrade

SETTLE = timedelta(minutes=5)  # longer than any trade's transaction (lock timeouts: 60 s)
ONE = timedelta(days=1)
ALL_TIME = date(1, 1, 1)  # the first day of the window of every trade
SUMMARY_LOCK = text("SELECT pg_advisory_xact_lock(1684108397, 1)")  # "datm", 1: summaries
FOLD_AT = 64  # row_counts rows per table beyond which a read folds them into one

# The earliest trade's day: days before it need no summary.
_FIRST_DAY = "(SELECT (min(at) AT TIME ZONE 'UTC')::date FROM trades)"

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
RECENT_TRADES = Prepared(
    "datm_market_recent_trades",
    "SELECT t.player, t.mbid, coalesce(a.name, t.mbid), t.side, t.price, t.at"
    " FROM (SELECT id, player, mbid, side, price, at FROM trades"
    "   ORDER BY id DESC LIMIT %(limit)s) t"
    " LEFT JOIN artists a ON a.mbid = t.mbid ORDER BY t.id DESC",
)

COUNTS = Prepared(
    "datm_market_counts",
    f"""
WITH from_day AS (SELECT greatest(%(since)s::date, coalesce({_FIRST_DAY}, %(settled)s::date))
                  AS day)
SELECT 'players' AS kind, NULL::date AS day, coalesce(sum(delta), 0) AS n, count(*) AS parts
    FROM row_counts WHERE counted = 'players'
UNION ALL SELECT 'artists', NULL, coalesce(sum(delta), 0), count(*)
    FROM row_counts WHERE counted = 'artists'
UNION ALL SELECT 'missing', NULL, greatest(0, %(settled)s::date - (SELECT day FROM from_day))
    - (SELECT count(*) FROM trade_days
       WHERE day >= (SELECT day FROM from_day) AND day < %(settled)s::date), 0
UNION ALL SELECT 'day', day, trades, 0 FROM trade_days
    WHERE day >= %(since)s::date AND day < %(settled)s::date AND trades > 0
UNION ALL SELECT 'day', (at AT TIME ZONE 'UTC')::date, count(*), 0 FROM trades
    WHERE at >= %(live_from)s::timestamptz GROUP BY 2
""",
)

# Complete days: the window's ranking, read down its index past the artists also
# bought since (``live``), whose buys are added up one by one.
MOST_BOUGHT = Prepared(
    "datm_market_most_bought",
    """
WITH live AS (SELECT mbid, count(*) AS buys FROM trades
              WHERE at >= %(live_from)s::timestamptz AND side = 'buy' GROUP BY mbid),
ranked AS (
    SELECT l.mbid, l.buys + coalesce(w.buys, 0) AS buys FROM live l
        LEFT JOIN trade_windows w
        ON w.first_day = %(first)s::date AND w.last_day = %(last)s::date AND w.mbid = l.mbid
    UNION ALL
    (SELECT w.mbid, w.buys FROM trade_windows w
     WHERE w.first_day = %(first)s::date AND w.last_day = %(last)s::date
         AND w.mbid NOT IN (SELECT mbid FROM live)
     ORDER BY w.buys DESC, w.mbid LIMIT %(limit)s::bigint)
)
SELECT r.mbid, coalesce(a.name, r.mbid) AS name, r.buys,
    EXISTS (SELECT 1 FROM trade_windows_built b
            WHERE b.first_day = %(first)s::date AND b.last_day = %(last)s::date) AS built
FROM ranked r LEFT JOIN artists a ON a.mbid = r.mbid
ORDER BY r.buys DESC, r.mbid LIMIT %(limit)s::bigint
""",
)
WINDOW_BUILT = text(
    "SELECT EXISTS (SELECT 1 FROM trade_windows_built"
    " WHERE first_day = :first AND last_day = :last)"
)

SUMMARISED_DAYS = text("SELECT day FROM trade_days WHERE day >= :first AND day <= :last")
FIRST_DAY = text(f"SELECT {_FIRST_DAY}")
SUMMARISE_BUYS = text(
    "INSERT INTO trade_day_artists (day, mbid, buys)"
    " SELECT :day, mbid, count(*) FROM trades"
    " WHERE at >= :start AND at < :end AND side = 'buy' GROUP BY mbid"
)
SUMMARISE_DAY = text(
    "INSERT INTO trade_days (day, trades)"
    " SELECT :day, count(*) FROM trades WHERE at >= :start AND at < :end"
)
BUILD_WINDOW = text(
    "INSERT INTO trade_windows (first_day, last_day, mbid, buys)"
    " SELECT :first, :last, mbid, sum(buys) FROM trade_day_artists"
    " WHERE day >= :first AND day <= :last GROUP BY mbid"
)
MARK_WINDOW = text("INSERT INTO trade_windows_built (first_day, last_day) VALUES (:first, :last)")
# Windows ending before the newest complete day are read no more.
FORGET_WINDOWS = text("DELETE FROM trade_windows WHERE last_day < :last")
FORGET_BUILT = text("DELETE FROM trade_windows_built WHERE last_day < :last")
# Many rows of one count folded into one: each row is deleted once (a second
# folder waits for the first, then finds it gone), so its delta is kept once.
FOLD_COUNTS = text(
    "WITH gone AS (DELETE FROM row_counts WHERE counted = :counted RETURNING delta)"
    " INSERT INTO row_counts (counted, delta)"
    " SELECT :counted, sum(delta) FROM gone HAVING count(*) > 0"
)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def settled_day(now: datetime) -> date:
    """The first day not known to be complete at ``now``: every earlier day's
    trades have committed."""
    return (now.astimezone(UTC) - SETTLE).date()


class PostgresMarketReads(MarketReads):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def _connect(self) -> Connection:
        if not self._schema.verified:
            self._schema.require(self._engine)
        return self._engine.connect()

    def _rows(self, statement: Any, **params: Any) -> Sequence[Any]:
        with translated(), self._connect() as conn:
            return conn.execute(statement, params).all()

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

    def recent_trades(self, limit: int) -> list[NamedTrade]:
        rows = self._fetch(RECENT_TRADES, limit=limit)
        return [NamedTrade(p, m, n, Side(s), price, at) for p, m, n, s, price, at in rows]

    def most_bought(
        self, limit: int, since: date | None, now: datetime
    ) -> list[tuple[str, str, int]]:
        settled = settled_day(now)
        first = ALL_TIME if since is None else since
        last = settled - timedelta(days=1)
        params = {
            "first": first,
            "last": last,
            "limit": limit,
            "live_from": _start(max(first, settled)),
        }
        rows = self._fetch(MOST_BOUGHT, **params)
        built = rows[0][3] if rows else self._rows(WINDOW_BUILT, **params)[0][0]
        if first <= last and not built:
            self._build_window(first, last)
            rows = self._fetch(MOST_BOUGHT, **params)
        return [(mbid, name, int(buys)) for mbid, name, buys, _ in rows]

    def counts(self, since: date, now: datetime) -> GameCounts:
        settled = settled_day(now)
        params = {"since": since, "settled": settled, "live_from": _start(max(since, settled))}
        rows = self._fetch(COUNTS, **params)  # (kind, day, n, parts)
        if any(kind == "missing" and n > 0 for kind, _, n, _ in rows):
            self._summarise(since, settled - timedelta(days=1))
            rows = self._fetch(COUNTS, **params)
        totals: dict[str, int] = {}
        days: dict[date, int] = {}
        for kind, day, n, parts in rows:
            if kind in ("players", "artists"):
                totals[kind] = int(n)
                if parts > FOLD_AT:
                    self._fold(kind)
            elif kind == "day":
                days[day] = days.get(day, 0) + int(n)
        return GameCounts(totals["players"], totals["artists"], tuple(sorted(days.items())))

    # --- writing the summaries --------------------------------------------------------

    def _summarise(self, first: date, last: date) -> None:
        """Summarise every complete day from ``first`` to ``last`` not summarised yet,
        a transaction per day."""
        with translated(), self._connect() as conn:
            with conn.begin():
                earliest = conn.execute(FIRST_DAY).scalar()
                if earliest is None:
                    return
                span = {"first": max(first, earliest), "last": last}
                done = set(conn.execute(SUMMARISED_DAYS, span).scalars())
            day = span["first"]
            while day <= last:
                if day not in done:
                    with conn.begin():
                        conn.execute(SUMMARY_LOCK)  # then look again: another may have
                        again = {"first": day, "last": day}
                        if not conn.execute(SUMMARISED_DAYS, again).first():
                            of_day = {"day": day, "start": _start(day), "end": _start(day + ONE)}
                            conn.execute(SUMMARISE_BUYS, of_day)
                            conn.execute(SUMMARISE_DAY, of_day)
                day += ONE

    def _build_window(self, first: date, last: date) -> None:
        self._summarise(first, last)
        params = {"first": first, "last": last}
        with translated(), self._connect() as conn, conn.begin():
            conn.execute(SUMMARY_LOCK)
            if conn.execute(WINDOW_BUILT, params).scalar():
                return
            conn.execute(FORGET_WINDOWS, params)
            conn.execute(FORGET_BUILT, params)
            conn.execute(BUILD_WINDOW, params)
            conn.execute(MARK_WINDOW, params)

    def _fold(self, counted: str) -> None:
        with translated(), self._connect() as conn, conn.begin():
            conn.execute(FOLD_COUNTS, {"counted": counted})
