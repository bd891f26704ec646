"""Market and analytics reads at full size, each against its own minimal SQL, in the same run.

    python bench/reads_market.py [--template datm_seed_full] [--calls 1000]
        [--url postgresql://postgres@127.0.0.1:5432/] [--today-trades 300000]

Copies the template (a game made by ``datm dev seed``; CREATE DATABASE ...
TEMPLATE), upgrades the copy, then times each read through the services
(injector wiring "postgres") and a hand-written psycopg2 statement giving the
same answer, p50 and p99 over ``--calls`` calls each, alternating by rounds.
The first call of each read (which may write the summaries of complete days) is
timed apart, as "first". Prints a table with the p99 ratio (target <= 3x).

Before timing, ``--today-trades`` trades are added to the copy, stamped evenly at the
full-size rate (``RATE``, 500,000 a day) up to now, so late in a UTC day they are
that day's (run just after midnight, the older ones fall in yesterday): most traded
and the counts read summaries up to a mark minutes ago and only the trades after
it. Their hand-written SQL reads the same summaries (the window and parts datm's
first call wrote) and counts the trades after the same mark, the least a query
giving the same answer can do.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from seeded import SERVER, copy_template, drop_copy

import datm
from datm.services.analytics import AnalyticsService
from datm.services.market import MarketService
from datm.settings import Settings
from datm.wiring import create_injector

COPY = "datm_bench_reads_market"
SECRET = "bench-quote-secret-0123456789abcdef"

LATEST = (
    " LEFT JOIN LATERAL (SELECT h.points, h.dividend FROM history h WHERE h.mbid = a.mbid"
    " ORDER BY h.day DESC LIMIT 1) h ON true"
)
SQL = {
    # The window's ten read down its index with their market data: the answer
    # when no price moved since the close (as in the generated game); with --moved,
    # a lower bound of what any exact answer costs.
    "top_by_gain(10, 7)": "SELECT a.mbid, a.name, a.price, a.max_shares, a.holders,"
    " w.gain + a.price - a.last_close_price AS gain, h.points, h.dividend FROM"
    " (SELECT mbid, gain FROM gain_windows WHERE first_day = %(gain_since)s AND closed_through"
    " = (SELECT max(day) FROM closes WHERE finished_at IS NOT NULL)"
    " ORDER BY gain DESC, mbid LIMIT 10) w JOIN artists a ON a.mbid = w.mbid"
    + LATEST
    + " ORDER BY gain DESC, a.mbid",
    # The tail after the window's mark added up, and only the window's head that
    # the tail's most could lift to the top (the floor: the window's tenth).
    "most_traded(10, 7)": "WITH m AS (SELECT through FROM trade_windows_built"
    " WHERE first_day = %(since)s), l AS (SELECT mbid, count(*) AS buys FROM trades"
    " WHERE at >= %(window_mark)s AND at >= (SELECT through FROM m) AND side = 'buy'"
    " GROUP BY mbid),"
    " f AS (SELECT buys FROM trade_windows WHERE first_day = %(since)s"
    " ORDER BY buys DESC, mbid OFFSET 9 LIMIT 1),"
    " r AS (SELECT w.mbid, w.buys + coalesce(l.buys, 0) AS buys FROM trade_windows w"
    " LEFT JOIN l ON l.mbid = w.mbid WHERE w.first_day = %(since)s"
    " AND w.buys >= (SELECT buys FROM f) - (SELECT coalesce(max(buys), 0) FROM l)"
    " UNION ALL SELECT mbid, buys FROM l WHERE buys >= (SELECT buys FROM f) AND NOT EXISTS"
    " (SELECT 1 FROM trade_windows w WHERE w.first_day = %(since)s AND w.mbid = l.mbid)),"
    " t AS (SELECT mbid, buys FROM r ORDER BY buys DESC, mbid LIMIT 10)"
    " SELECT t.mbid, (SELECT name FROM artists a WHERE a.mbid = t.mbid), t.buys FROM t"
    " ORDER BY t.buys DESC, t.mbid",
    "recent_trades(10)": "SELECT t.player, t.mbid, a.name, t.side, t.price, t.at FROM trades t"
    " JOIN artists a ON a.mbid = t.mbid ORDER BY t.id DESC LIMIT 10",
    "top_by_price(10)": "SELECT a.mbid, a.name, a.price, a.max_shares, a.holders, h.points,"
    " h.dividend FROM artists a" + LATEST + " ORDER BY a.price DESC, a.mbid LIMIT 10",
    "market_data(mbid)": "SELECT a.mbid, a.name, a.price, a.max_shares, a.holders, h.points,"
    " h.dividend FROM artists a" + LATEST + " WHERE a.mbid = %(mbid)s",
    "market_data(mbid, player)": "SELECT a.mbid, a.name, a.price, a.max_shares, a.holders,"
    " h.points, h.dividend, EXISTS (SELECT 1 FROM holdings WHERE player = %(player)s"
    " AND mbid = a.mbid) FROM artists a" + LATEST + " WHERE a.mbid = %(mbid)s",
    "history(mbid, 7)": "SELECT day, price, points, dividend FROM history"
    " WHERE mbid = %(mbid)s AND day >= %(since)s ORDER BY day",
    "counts(7)": "SELECT (SELECT sum(delta) FROM row_counts WHERE counted = 'players'),"
    " (SELECT sum(delta) FROM row_counts WHERE counted = 'artists'),"
    " (SELECT array_agg(trades ORDER BY day) FROM trade_days WHERE day >= %(since)s),"
    " (SELECT count(*) FROM trades WHERE at >= %(parts_mark)s"
    " AND at >= (SELECT max(through) FROM trade_days))",
    "artists(500) batch": "SELECT mbid, name, price, max_shares, holders, last_listeners,"
    " last_playcount FROM artists WHERE mbid > %(after)s ORDER BY mbid LIMIT 500",
}


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


RATE = 500_000  # trades a day at full size
# ``n`` trades stamped evenly up to now at ``RATE``, by players and of artists
# of the copy picked at random (keys only: a trade's row checks no holding), 9 in 10
# buys, as one INSERT ... SELECT.
TODAYS_TRADES = """
WITH p AS (SELECT array_agg(name) AS a FROM (SELECT name FROM players
                                           TABLESAMPLE SYSTEM (5) LIMIT 20000) s),
     m AS (SELECT array_agg(mbid) AS a FROM artists),
     span AS (SELECT now() - interval '1 day' * %(n)s / %(rate)s AS start)
INSERT INTO trades (player, mbid, side, price, at)
SELECT p.a[1 + (random() * (cardinality(p.a) - 1))::int],
       m.a[1 + (random() * random() * (cardinality(m.a) - 1))::int],
       CASE WHEN random() < 0.9 THEN 'buy' ELSE 'sell' END, 100,
       span.start + (now() - span.start) * i / %(n)s
FROM p, m, span, generate_series(1, %(n)s) AS i
"""


def add_todays_trades(url: str, n: int) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(TODAYS_TRADES, {"n": n, "rate": RATE})
        cur.execute("ANALYZE trades")
        print(f"added {n} trades stamped up to now in {time.perf_counter() - started:.1f} s")
    conn.close()


# A stress case for top by gain: the game's own trades at full size move almost no
# price (a move is trunc(lcp * 0.01 * (10 - 9R/M) / M), and M is large), so move
# ``percent`` of the artists by -5..+10 since their close, many tying at +10.
MOVE_PRICES = (
    "UPDATE artists SET price = greatest(1, price + abs(hashtext(mbid)) %% 16 - 5)"
    " WHERE abs(hashtext(mbid || 'moved')) %% 100 < %(percent)s"
)


def move_prices(url: str, percent: int) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(MOVE_PRICES, {"percent": percent})
        moved = cur.rowcount
        cur.execute("ANALYZE artists")
        print(f"moved the prices of {moved} artists", flush=True)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="datm_seed_full")
    parser.add_argument("--url", default=SERVER)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the copy")
    parser.add_argument("--only", help="time only the reads whose names contain this")
    parser.add_argument(
        "--today-trades", type=int, default=300_000, help="trades stamped today, added first"
    )
    parser.add_argument(
        "--moved", type=int, default=0, help="percent of artists whose price moves first"
    )
    args = parser.parse_args()
    url = copy_template(args.url, args.template, COPY)
    if args.today_trades:
        add_todays_trades(url, args.today_trades)
    if args.moved:
        move_prices(url, args.moved)
    settings = Settings(database_url=url, quote_secret=SECRET)
    injector = create_injector(settings, wiring="postgres")
    market, analytics = injector.get(MarketService), injector.get(AnalyticsService)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    rng = random.Random(14)
    cur.execute("SELECT mbid FROM artists")
    mbids = [r[0] for r in cur.fetchall()]
    cur.execute("SELECT player, mbid FROM holdings TABLESAMPLE SYSTEM (1) LIMIT 2000")
    held = cur.fetchall()
    today = datetime.now(UTC).date()  # the day as datm counts it
    since7 = today - timedelta(days=6)
    pages = [None, *sorted(rng.sample(mbids, 200))]

    def pick_mbid() -> dict[str, Any]:
        return {"mbid": rng.choice(mbids), "since": since7}

    def pick_held() -> dict[str, Any]:
        player, mbid = rng.choice(held)
        return {"mbid": mbid, "player": player}

    marks: dict[str, Any] = {"window_mark": None, "parts_mark": None}

    def fixed() -> dict[str, Any]:
        return {
            **marks,
            "since": since7,
            "last": today - timedelta(days=1),
            "today": today,
            "after": "",
            "gain_since": today - timedelta(days=7),
        }

    def page() -> dict[str, Any]:
        return {"after": rng.choice(pages) or ""}

    reads: dict[str, tuple[Callable[[dict[str, Any]], object], Callable[[], dict[str, Any]]]] = {
        "most_traded(10, 7)": (lambda p: market.most_traded(10, 7), fixed),
        "recent_trades(10)": (lambda p: market.recent_trades(10), fixed),
        "top_by_price(10)": (lambda p: market.top_by_price(10), fixed),
        "market_data(mbid)": (lambda p: market.market_data(p["mbid"]), pick_mbid),
        "market_data(mbid, player)": (
            lambda p: market.market_data(p["mbid"], player=p["player"]),
            pick_held,
        ),
        "history(mbid, 7)": (lambda p: market.history(p["mbid"], 7), pick_mbid),
        "counts(7)": (lambda p: analytics.counts(7), fixed),
        "artists(500) batch": (lambda p: next(analytics.artists(500)), page),
        "top_by_gain(10, 7)": (lambda p: market.top_by_gain(10, 7), fixed),
    }
    print(
        f"{'read':28} {'first ms':>9} {'datm p50':>9} {'p99':>8}  {'SQL p50':>8} {'p99':>7}"
        f"  {'p99 ratio':>9}"
    )
    for name, (call, params) in reads.items():
        if args.only and args.only not in name:
            continue
        started = time.perf_counter()
        call(params())
        first = (time.perf_counter() - started) * 1000
        # The marks datm's first call wrote: a lower bound the planner can use, as
        # datm's own statements have (marks only move forward).
        cur.execute("SELECT min(through) FROM trade_windows_built")
        marks["window_mark"] = cur.fetchone()[0]
        cur.execute("SELECT max(through) FROM trade_days")
        marks["parts_mark"] = cur.fetchone()[0]
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.calls):
            p = params()
            t0 = time.perf_counter()
            call(p)
            t1 = time.perf_counter()
            cur.execute(SQL[name], p)
            cur.fetchall()
            t2 = time.perf_counter()
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
        o50, o99 = percentiles(ours)
        s50, s99 = percentiles(theirs)
        print(
            f"{name:28} {first:9.1f} {o50:9.2f} {o99:8.2f}  {s50:8.2f} {s99:7.2f}"
            f"  {o99 / s99:8.1f}x",
            flush=True,
        )
    conn.close()
    datm.close(injector)
    if not args.keep:
        drop_copy(args.url, COPY)


if __name__ == "__main__":
    main()
