"""Leaderboards on a 1,000,000-player league, through the services, against a bare
Redis ZRANK round trip in the same run.

    python bench/leaderboard.py [--template datm_seed_full] [--calls 2000]

The template is a game made by ``datm dev seed`` (full size: 1,200,000 players,
1,000,000 of them in bronze). The bench copies it, builds the leaderboards' model
in Redis (``Leaderboard.rebuild``, timed), then, for the all-time and the weekly
boards: ``LeagueService.top(bronze, 10)``, ``near(player)`` and
``position(player)`` for players drawn at random, p50 and p99 over ``--calls``
calls each, and a bare ``ZRANK`` of the same players on the model's own sorted
set, the same number of times: the ratio of p99s (target <= 3x). It also times the
same calls when the model is not there (Redis flushed: each read counts in SQL).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis
from seeded import SERVER, connect, copy_template, drop_copy

import datm
from datm.adapters.clock import SystemClock
from datm.adapters.redis.leaderboard import RedisLeaderboard
from datm.ports.leaderboard import Leaderboard
from datm.services.leagues import LeagueService
from datm.settings import Settings
from datm.wiring import create_injector

COPY = "datm_bench_board"
REDIS_URL = "redis://127.0.0.1:6379/13"
SECRET = "bench-quote-secret-0123456789abcdef"
LEAGUE = "bronze"
PERIODS = {"all time": 0, "weekly": 7}


def timed(call: Callable[[Any], object], args: list[Any]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``call`` over ``args``."""
    took = []
    for arg in args:
        started = time.perf_counter()
        call(arg)
        took.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(took, n=100)
    return cuts[49], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=SERVER, help="server URL, ending in '/'")
    parser.add_argument("--template", default="datm_seed_full")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--sql-calls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    made = time.perf_counter()
    url = copy_template(args.server, args.template, COPY)
    print(f"copied {args.template} to {COPY} and migrated it in {time.perf_counter() - made:.1f} s")
    raw = redis.Redis.from_url(REDIS_URL)
    raw.flushdb()
    settings = Settings(database_url=url, quote_secret=SECRET, redis_url=REDIS_URL)
    injector = create_injector(settings, wiring="postgres")
    try:
        leagues = injector.get(LeagueService)
        board = injector.get(Leaderboard)  # type: ignore[type-abstract]
        assert isinstance(board, RedisLeaderboard)
        today = SystemClock().today()
        started = time.perf_counter()
        count = board.rebuild(today)
        print(f"model built: {count:,} players in {time.perf_counter() - started:.1f} s")

        db = connect(url)
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM players WHERE league = %s", (LEAGUE,))
            print(f"league {LEAGUE}: {cur.fetchone()[0]:,} players")
            cur.execute("SELECT name FROM players WHERE league = %s", (LEAGUE,))
            names = [r[0] for r in cur.fetchall()]
        db.close()
        rng = random.Random(args.seed)
        sample = [rng.choice(names) for _ in range(args.calls)]
        key = board._p() + f"p:all:{LEAGUE}"  # the all-time set; a ZRANK of a member
        base50, base99 = timed(lambda name: raw.zrank(key, name), sample)
        print(f"baseline Redis ZRANK round trip: p50 {base50:.3f} ms, p99 {base99:.3f} ms")
        print(f"{'call':<34} {'p50 ms':>8} {'p99 ms':>8} {'p99 / ZRANK p99':>16}")
        for label, days in PERIODS.items():
            calls: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
                f"top({LEAGUE}, 10, {days})": (
                    lambda _: leagues.top(LEAGUE, 10, days),  # noqa: B023
                    sample,
                ),
                f"near(player, {days})": (lambda n: leagues.near(n, days), sample),  # noqa: B023
                f"position(player, {days})": (lambda n: leagues.position(n, days), sample),  # noqa: B023
            }
            for name, (call, inputs) in calls.items():
                p50, p99 = timed(call, inputs)
                print(f"{name:<34} {p50:8.3f} {p99:8.3f} {p99 / base99:15.2f}x  ({label})")

        raw.flushdb()  # no model: every read counts in SQL
        board._rebuild_in_background = lambda today: None  # type: ignore[method-assign]
        few = sample[: args.sql_calls]
        for name, call in (
            ("top, model gone (SQL)", lambda _: leagues.top(LEAGUE, 10, 0)),
            ("position, model gone (SQL)", lambda n: leagues.position(n, 0)),
            ("near, model gone (SQL)", lambda n: leagues.near(n, 0)),
        ):
            p50, p99 = timed(call, few)
            print(f"{name:<34} {p50:8.1f} {p99:8.1f}  (over {len(few)} calls)")
    finally:
        datm.close(injector)
        raw.flushdb()
        drop_copy(args.server, COPY)


if __name__ == "__main__":
    main()
