"""What each statement of a trade costs the server, from datm's own SQL replayed.

    python bench/trade_sql_cost.py [--url URL] [--trades 1500] [--rounds 3]

A player holding 20 artists (as in ``trade_throughput.py``'s spread workload)
buys and sells a 21st through ``TradingService``; the SQL text of each of the
two round trips is recorded as datm sent it. One plain psycopg2 connection then
replays buy-sell pairs (each with a fresh quote id), whole and with one
statement left out at a time, and reads its server process's CPU from /proc:
the difference between two lines is what that statement costs the server. The
client's CPU here is the driver's and the kernel's alone, no datm code. Needs
the server on this machine. Figures per trade (half a buy-sell pair).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from trade_cpu import cpu_seconds
from trade_throughput import DEFAULT_URL, SECRET, _seed, database

SEP = ";\n"  # how datm joins the statements of one round trip


class Recording(psycopg2.extensions.cursor):
    """A cursor that keeps the text of everything it sends."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, vars: Any = None) -> None:
        text = self.mogrify(query, vars) if vars is not None else query
        Recording.sent.append(text.decode() if isinstance(text, bytes) else str(text))
        super().execute(query, vars)


Trip = list[str]  # the statements of one round trip


def record_trades(db: str) -> tuple[list[Trip], list[Trip], list[str]]:
    """The buy's and the sale's round trips, and every PREPARE datm sent on the way."""
    from datm.services.trading import TradingService
    from datm.settings import Settings
    from datm.wiring import create_injector

    keys, mbids = _seed(db, 1)
    injector = create_injector(Settings(database_url=db, quote_secret=SECRET), wiring="postgres")
    engine = injector.get(sa.Engine)
    sa.event.listen(engine, "connect", lambda conn, _: setattr(conn, "cursor_factory", Recording))
    trading, key = injector.get(TradingService), keys[0]
    for mbid in mbids[:20]:
        trading.buy(key, trading.quote(key, mbid, "buy").token)
    prepares = [p for text in Recording.sent for p in text.split(SEP) if p.startswith("PREPARE")]
    trades = []
    for side in ("buy", "sell"):
        token = trading.quote(key, mbids[20], side).token
        Recording.sent.clear()
        (trading.buy if side == "buy" else trading.sell)(key, token)
        trips = [text.split(SEP) for text in Recording.sent]
        prepares += [p for trip in trips for p in trip if p.startswith("PREPARE")]
        trades.append([[p for p in trip if not p.startswith("PREPARE")] for trip in trips])
    engine.dispose()
    return trades[0], trades[1], prepares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--trades", type=int, default=1500, help="buy-sell pairs per line")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with database(args.url, "datm_bench_sql") as db:
        buy, sale, prepares = record_trades(db)
        # A quote executes once: each replayed trade carries a fresh quote id.
        quote_ids = set(
            re.findall(r"'([0-9a-f]{32})'", SEP.join(p for trip in buy + sale for p in trip))
        )

        def trips(leave_out: str = "", one_trip: bool = False) -> Callable[[], list[str]]:
            """Round trips of one buy-sell pair, ``leave_out`` statements dropped."""

            def make() -> list[str]:
                texts = []
                for trade in (buy, sale):
                    fresh = uuid.uuid4().hex
                    kept = [
                        [p for p in trip if not (leave_out and leave_out in p)] for trip in trade
                    ]
                    joined = [SEP.join(trip) for trip in kept if trip]
                    for text in [SEP.join(joined)] if one_trip else joined:
                        for old in quote_ids:
                            text = text.replace(old, fresh)
                        texts.append(text)
                return texts

            return make

        lines: dict[str, Callable[[], list[str]]] = {
            "whole trade, 2 round trips (as datm sends it)": trips(),
            "the same statements in 1 round trip": trips(one_trip=True),
            "without the player's lock": trips("datm_lock_player"),
            "without the read": trips("datm_read_artist_and_player"),
            "without the rows (player, holding, trade, ledger)": trips("datm_trade_rows"),
            "without the artist's move": trips("datm_move_after"),
            "BEGIN; COMMIT, 2 round trips": lambda: ["BEGIN", "COMMIT"] * 2,
            "SELECT 1, 2 round trips": lambda: ["SELECT 1"] * 4,
        }
        conn = psycopg2.connect(db)
        conn.autocommit = True  # the texts carry their own BEGIN and COMMIT
        cursor = conn.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchall()[0][0])
        for prepare in prepares:
            cursor.execute(prepare)
        figures: dict[str, list[tuple[float, float]]] = {label: [] for label in lines}
        for _round in range(args.rounds):
            for label, make in lines.items():
                server, client = cpu_seconds([pid]), time.process_time()
                for _ in range(args.trades):
                    for text in make():
                        cursor.execute(text)
                per = 1e6 / (2 * args.trades)
                figures[label].append(
                    ((cpu_seconds([pid]) - server) * per, (time.process_time() - client) * per)
                )
        conn.close()
    print(f"CPU per trade, median of {args.rounds} rounds of {args.trades} buy-sell pairs:")
    print("| replayed | server | client (driver and kernel only) |")
    print("|---|---|---|")
    for label, values in figures.items():
        server_us = statistics.median(s for s, _ in values)
        client_us = statistics.median(c for _, c in values)
        print(f"| {label} | {server_us:.0f} us | {client_us:.0f} us |")


if __name__ == "__main__":
    main()
