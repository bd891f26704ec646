"""A player's profile and the audit at full size, against hand-written SQL in the same run.

    python bench/reads_players.py [--template datm_seed_full] [--holdings 50] [--calls 1000]
        [--audits 3] [--server postgresql://postgres@127.0.0.1:5432/]

The template is a game made by ``datm dev seed`` (at full size: 1,200,000 players,
100,000 artists, 1,000,000 holdings, 2.5 M trades, 3.6 M ledger rows). The bench
copies it (CREATE DATABASE ... TEMPLATE), migrates the copy to head, and there gives
the player with the most holdings more, up to ``--holdings`` (rows of holdings, each
artist's holders counted up, as a trade would leave them), then measures, interleaved
call by call:

1. ``PlayerService.profile(player, with_images=False)`` through the Postgres wiring
   (no last.fm: the baselines do not call it), p50 and p99 over ``--calls`` calls,
   and how many statements one call sends (a ``before_cursor_execute`` listener);
2. the baseline: minimal hand-written SQL on bare psycopg2 reading the same data,
   one plain statement per kind (the player with the latest close, the holdings
   with their artists and latest history points, the trophies, the newest trades
   with their artists' names), rows fetched and nothing built from them;
3. datm's own single statement replayed on bare psycopg2 (prepared, as datm
   runs it): what the database and the driver cost, without datm's Python.

Then ``AuditService.audit()`` ``--audits`` times against the same checks as two
hand-written SQL statements (mismatching rows only), alternately.
Targets: profile p99 <= 3x the hand-written SQL's; the audit in seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from seeded import SERVER, connect, copy_template, drop_copy
from sqlalchemy import Engine, event

import datm
from datm.adapters.postgres.player_reads import PROFILE
from datm.services.audit import AuditService
from datm.services.players import PROFILE_TRADES, PlayerService
from datm.settings import Settings
from datm.wiring import create_injector

COPY = "datm_bench_reads_players"
SECRET = "bench-quote-secret-0123456789abcdef"

BASELINE_PROFILE = [
    "SELECT name, league, money, created_at, trades_made, points_all_time, points_daily,"
    " points_weekly, points_monthly, points_day, (SELECT max(day) FROM closes"
    " WHERE paid_from IS NOT NULL OR finished_at IS NOT NULL) FROM players WHERE name = %(p)s",
    "SELECT h.mbid, h.price_paid, h.since, a.name, a.price, a.max_shares, a.holders,"
    " x.points, x.dividend FROM holdings h JOIN artists a ON a.mbid = h.mbid"
    " LEFT JOIN LATERAL (SELECT points, dividend FROM history y WHERE y.mbid = h.mbid"
    " ORDER BY day DESC LIMIT 1) x ON true WHERE h.player = %(p)s",
    "SELECT uid, awarded_at FROM trophies WHERE player = %(p)s",
    "SELECT t.mbid, a.name, t.side, t.price, t.at FROM trades t JOIN artists a"
    " ON a.mbid = t.mbid WHERE t.player = %(p)s ORDER BY t.id DESC LIMIT %(n)s",
]
BASELINE_AUDIT = [
    "SELECT p.name, p.money, 20000 + coalesce(l.total, 0) FROM players p LEFT JOIN"
    " (SELECT player, sum(amount) AS total FROM ledger GROUP BY player) l ON l.player = p.name"
    " WHERE p.money <> 20000 + coalesce(l.total, 0) OR p.money < 0",
    "SELECT a.mbid, a.holders, coalesce(h.n, 0), a.max_shares FROM artists a LEFT JOIN"
    " (SELECT mbid, count(*) AS n FROM holdings GROUP BY mbid) h ON h.mbid = a.mbid"
    " WHERE coalesce(h.n, 0) <> a.holders OR coalesce(h.n, 0) > a.max_shares",
]


def richest_holder(url: str, holdings: int) -> tuple[str, int]:
    """The player with the most holdings, given more up to ``holdings``."""
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT player, count(*) FROM holdings GROUP BY player ORDER BY 2 DESC, 1 LIMIT 1"
        )
        player, held = cur.fetchone()
        if held < holdings:
            cur.execute(
                "WITH more AS (SELECT a.mbid, a.price FROM artists a"
                " WHERE a.holders < a.max_shares AND NOT EXISTS (SELECT 1 FROM holdings h"
                "  WHERE h.player = %(p)s AND h.mbid = a.mbid) ORDER BY a.mbid LIMIT %(n)s),"
                " added AS (INSERT INTO holdings (player, mbid, price_paid, since)"
                "  SELECT %(p)s, mbid, price, now() FROM more RETURNING mbid)"
                " UPDATE artists SET holders = holders + 1 WHERE mbid IN (SELECT mbid FROM added)",
                {"p": player, "n": holdings - held},
            )
        cur.execute("SELECT count(*) FROM holdings WHERE player = %s", (player,))
        held = cur.fetchone()[0]
    conn.close()
    return player, held


def timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def quantiles(ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return statistics.median(ms), cuts[98]


def bench_profile(url: str, player: str, calls: int) -> None:
    settings = Settings(database_url=url, quote_secret=SECRET)
    injector = create_injector(settings, wiring="postgres")
    players = injector.get(PlayerService)
    sent: list[str] = []
    event.listen(injector.get(Engine), "before_cursor_execute", lambda *a: sent.append(a[2]))
    bare = connect(url)
    cur = bare.cursor()
    cur.execute(PROFILE.prepare)  # datm's statement, prepared on the bare connection

    def datm_profile() -> None:
        players.profile(player, with_images=False)

    def hand_written() -> None:
        for sql in BASELINE_PROFILE:
            cur.execute(sql, {"p": player, "n": PROFILE_TRADES})
            cur.fetchall()

    def datm_statement() -> None:
        cur.execute(PROFILE.execute, {"player": player, "trades": PROFILE_TRADES})
        cur.fetchall()

    runs = {"datm": datm_profile, "hand": hand_written, "statement": datm_statement}
    for run in runs.values():
        for _ in range(50):  # warm: pool, prepared statements, caches
            run()
    sent.clear()
    profile = players.profile(player, with_images=False)
    statements = len(sent)
    ms: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(calls):
        for name, run in runs.items():
            ms[name].append(timed(run))
    bare.close()
    datm.close(injector)
    print(
        f"profile of {player}: {len(profile.holdings)} holdings, {len(profile.trades)} trades,"
        f" {len(profile.trophies)} trophies; datm sends {statements} statement(s) per call"
    )
    (d50, d99), (h50, h99), (s50, s99) = (quantiles(ms[n]) for n in runs)
    print(f"  PlayerService.profile               p50 {d50:6.2f} ms  p99 {d99:6.2f} ms")
    print(
        f"  hand-written SQL, {len(BASELINE_PROFILE)} statements    "
        f"p50 {h50:6.2f} ms  p99 {h99:6.2f} ms"
    )
    print(f"  datm's statement on psycopg2        p50 {s50:6.2f} ms  p99 {s99:6.2f} ms")
    print(
        f"  ratio to hand-written: p50 {d50 / h50:.2f}x, p99 {d99 / h99:.2f}x (target p99 <= 3x);"
        f" to its own statement: p50 {d50 / s50:.2f}x, p99 {d99 / s99:.2f}x"
    )


def bench_audit(url: str, rounds: int) -> None:
    injector = create_injector(Settings(database_url=url, quote_secret=SECRET), wiring="postgres")
    auditor = injector.get(AuditService)
    bare = connect(url)
    cur = bare.cursor()
    found: list[int] = []

    def hand_written() -> None:
        found.clear()
        for sql in BASELINE_AUDIT:
            cur.execute(sql)
            found.append(len(cur.fetchall()))

    datm_s, hand_s = [], []
    report = None
    for _ in range(rounds):
        hand_s.append(timed(hand_written) / 1000)
        started = time.perf_counter()
        report = auditor.audit()
        datm_s.append(time.perf_counter() - started)
    bare.close()
    datm.close(injector)
    assert report is not None
    print(
        f"audit: {report.players:,} players, {report.artists:,} artists; ok={report.ok}"
        f" (mismatches: datm {len(report.money)} + {len(report.shares)},"
        f" hand-written {found[0]} + {found[1]})"
    )
    print(f"  AuditService.audit()            {', '.join(f'{s:.2f}' for s in datm_s)} s")
    print(f"  hand-written SQL, 2 statements  {', '.join(f'{s:.2f}' for s in hand_s)} s")
    ratio = statistics.median(datm_s) / statistics.median(hand_s)
    print(f"  ratio of medians: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=SERVER, help="server URL, ending in '/'")
    parser.add_argument("--template", default="datm_seed_full")
    parser.add_argument("--holdings", type=int, default=50)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--audits", type=int, default=3)
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the copy")
    args = parser.parse_args()

    made = time.perf_counter()
    url = copy_template(args.server, args.template, COPY)
    print(f"copied {args.template} to {COPY} in {time.perf_counter() - made:.1f} s")
    player, held = richest_holder(url, args.holdings)
    print(f"player {player} holds {held} artists")
    bench_profile(url, player, args.calls)
    if not args.skip_audit:
        bench_audit(url, args.audits)
    if not args.keep:
        drop_copy(args.server, COPY)


if __name__ == "__main__":
    main()
