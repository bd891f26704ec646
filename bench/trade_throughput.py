"""Trade throughput on Postgres against pgbench, measured in the same run.

    python bench/trade_throughput.py [--url URL] [--seconds 20] [--repeat 3]

Two comparisons, each printed with its ratios against pgbench's mean of a run just
before and one just after datm's (the machine's speed drifts by minutes):
  spread: pgbench tpcb-like (-c 16, scale 10) vs datm with 16 clients (4 processes
          x 4 threads) trading over 2,000 artists;
  hot:    pgbench at scale 1 vs datm with every client trading one artist.
datm is measured two ways, both counting executed buys and sells per second:
  execute: buy/sell executions alone (TradingService.buy and sell), from quotes
           each client obtained just before the timed phase (the api serves quotes
           and executions as separate requests);
  cycle:   a quote and its execution back to back, timed together: what one api
           client asking for a price and then trading gets.
Artists are seeded by SQL with price 100 and 5,000 shares, so that no trade is
refused for money or shares.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import re
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ARTISTS = 2000
SECRET = "bench-quote-secret-0123456789abcdef"


@dataclass(frozen=True)
class Result:
    trades: int
    seconds: float
    errors: dict[str, int]

    @property
    def rate(self) -> float:
        return self.trades / self.seconds


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT"
    )


@contextmanager
def database(url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = _admin(url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def run_pgbench(
    url: str,
    scale: int,
    clients: int,
    seconds: int,
    timed: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> str:
    """pgbench's tpcb-like output, on a fresh database of ``scale``; ``timed``
    wraps the run alone, not the initialisation (trade_cpu.py reads /proc there)."""
    parsed = sa.engine.make_url(url)
    with database(url, "datm_bench_pgbench") as db:
        name = sa.engine.make_url(db).database or ""
        base = [
            "-h",
            parsed.host or "127.0.0.1",
            "-p",
            str(parsed.port or 5432),
            "-U",
            parsed.username or "postgres",
        ]
        subprocess.run(
            ["pgbench", *base, "-i", "-q", "-s", str(scale), name],
            check=True,
            capture_output=True,
            timeout=600,
        )
        with timed():
            return subprocess.run(
                ["pgbench", *base, "-c", str(clients), "-j", "4", "-T", str(seconds), "-n", name],
                check=True,
                capture_output=True,
                text=True,
                timeout=seconds + 120,
            ).stdout


def pgbench_figure(out: str, pattern: str) -> float:
    match = re.search(pattern, out)
    if match is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{out}")
    return float(match.group(1))


def pgbench(url: str, scale: int, clients: int, seconds: int) -> float:
    """pgbench's transactions per second."""
    out = run_pgbench(url, scale, clients, seconds)
    return pgbench_figure(out, r"tps = ([0-9.]+) \(without initial connection time\)")


def _seed(url: str, players: int) -> tuple[list[str], list[str]]:
    from datm.adapters.postgres.migrate import upgrade
    from datm.ports.lastfm import LastfmPort
    from datm.services.auth import AuthService
    from datm.settings import Settings
    from datm.wiring import create_injector

    upgrade(url)
    engine = _admin(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(
            "INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,"
            " last_listeners, last_playcount, listed_on) SELECT"
            " md5('artist' || i)::uuid::text, 'artist ' || i, 100, 5000, 0, 100, 1000, 10000,"
            f" current_date FROM generate_series(1, {ARTISTS}) AS i"
        )
        mbids = [r[0] for r in conn.exec_driver_sql("SELECT mbid FROM artists ORDER BY mbid")]
    engine.dispose()
    injector = create_injector(Settings(database_url=url, quote_secret=SECRET), wiring="postgres")
    auth, lastfm = injector.get(AuthService), injector.get(LastfmPort)  # type: ignore[type-abstract]
    keys = []
    for index in range(players):
        link = auth.login_link()
        assert link.token is not None  # the offline last.fm's desktop flow
        lastfm.authorise(link.token, f"bench-{index:03d}")  # type: ignore[attr-defined]
        keys.append(auth.login(link.token).session_key)
    injector.get(sa.Engine).dispose()
    return keys, mbids


def _trading(url: str, pool: int, validity: float) -> Any:
    from datm.services.trading import TradingService
    from datm.settings import Settings
    from datm.wiring import create_injector

    settings = Settings(
        database_url=url, quote_secret=SECRET, pool_size=pool, quote_validity_seconds=validity
    )
    return create_injector(settings, wiring="postgres").get(TradingService)


def cycle_threads(
    trading: Any,
    keys: list[str],
    mbids: list[str],
    start: float,
    stop: float,
    clock: Callable[[], float] = time.time,
) -> Counter[str]:
    """One thread per player quoting and executing a buy then a sale of a random
    artist from ``start`` to ``stop`` (by ``clock``): executed trades as "trades",
    refusals by error code."""
    from datm.domain.errors import DatmError

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def trade(key: str, seed: int) -> None:
        rng = random.Random(seed)
        local: Counter[str] = Counter()
        while clock() < start:
            time.sleep(0.001)
        while clock() < stop:
            mbid = rng.choice(mbids)
            for side in ("buy", "sell"):
                try:
                    quote = trading.quote(key, mbid, side)
                    (trading.buy if side == "buy" else trading.sell)(key, quote.token)
                    local["trades"] += 1
                except DatmError as error:
                    local[error.code] += 1
                    break
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=trade, args=(k, i)) for i, k in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def _cycle_worker(
    url: str,
    keys: list[str],
    mbids: list[str],
    start: float,
    stop: float,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    trading = _trading(url, len(keys), 15.0)
    out.put(dict(cycle_threads(trading, keys, mbids, start, stop)))


def _execute_worker(
    url: str,
    keys: list[list[str]],
    mbids: list[str],
    rounds: int,
    per_player: int,
    barrier: Any,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    """Each thread owns several players: per round it quotes buys (untimed), waits
    for every thread, executes them (timed), then the same for the sells."""
    from datm.domain.errors import DatmError

    trading = _trading(url, len(keys), 3600.0)
    results: list[tuple[int, str, float, float, Counter[str]]] = []
    lock = threading.Lock()

    def run(players: list[str], seed: int) -> None:
        rng = random.Random(seed)
        for round_ in range(rounds):
            held: list[tuple[str, str]] = []
            for side in ("buy", "sell"):
                if side == "buy":
                    wanted = [(k, m) for k in players for m in rng.sample(mbids, per_player)]
                else:
                    wanted = held
                tokens = []
                for key, mbid in wanted:
                    with suppress(DatmError):  # refused quotes are not executed
                        tokens.append((key, mbid, trading.quote(key, mbid, side).token))
                execute = trading.buy if side == "buy" else trading.sell
                local: Counter[str] = Counter()
                barrier.wait()
                began = time.perf_counter()
                for key, mbid, token in tokens:
                    try:
                        execute(key, token)
                        local["trades"] += 1
                        if side == "buy":
                            held.append((key, mbid))
                    except DatmError as error:
                        local[error.code] += 1
                ended = time.perf_counter()
                with lock:
                    results.append((round_, side, began, ended, local))
                barrier.wait()

    threads = [threading.Thread(target=run, args=(k, i)) for i, k in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)


def datm_cycle(url: str, processes: int, threads: int, seconds: int, hot: bool) -> Result:
    with database(url, "datm_bench") as db:
        keys, mbids = _seed(db, processes * threads)
        chosen = mbids[:1] if hot else mbids
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start = time.time() + 8  # spawned interpreters import datm first
        stop = start + seconds
        workers = [
            ctx.Process(
                target=_cycle_worker,
                args=(db, keys[p * threads : (p + 1) * threads], chosen, start, stop, out),
            )
            for p in range(processes)
        ]
        for worker in workers:
            worker.start()
        totals: Counter[str] = Counter()
        for _ in workers:
            totals.update(out.get(timeout=seconds + 120))
        for worker in workers:
            worker.join(timeout=30)
        trades = totals.pop("trades", 0)
        return Result(trades, float(seconds), dict(totals))


@dataclass
class ExecuteRun:
    """The execute workload's worker processes, started; each puts its phases on ``out``."""

    workers: list[Any]
    out: Any
    barrier: Any


def start_execute_workers(
    db: str, processes: int, threads: int, rounds: int, hot: bool, observers: int = 0
) -> ExecuteRun:
    """Seed ``db`` and start the workers. Hot: 16 x 200 players buy the one
    artist (5,000 shares); spread: 16 x 10 players buy 20 artists each. The
    barrier also waits for ``observers`` other parties at every phase."""
    clients = processes * threads
    per_client, per_player = (200, 1) if hot else (10, 20)
    keys, mbids = _seed(db, clients * per_client)
    chosen = mbids[:1] if hot else mbids
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(clients + observers)
    owned = [keys[c * per_client : (c + 1) * per_client] for c in range(clients)]
    workers = [
        ctx.Process(
            target=_execute_worker,
            args=(
                db,
                owned[p * threads : (p + 1) * threads],
                chosen,
                rounds,
                per_player,
                barrier,
                out,
            ),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    return ExecuteRun(workers, out, barrier)


def datm_execute(url: str, processes: int, threads: int, seconds: int, hot: bool) -> Result:
    """Rounds of quoted buys then sells; the rate is executions over the timed
    phases, each phase from the first thread's start to the last thread's end."""
    # Phases of a few seconds each, so that threads finishing at slightly different
    # times weigh little.
    rounds = max(1, seconds // 7)
    with database(url, "datm_bench") as db:
        run = start_execute_workers(db, processes, threads, rounds, hot)
        workers, out = run.workers, run.out
        phases: dict[tuple[int, str], list[float]] = {}
        totals: Counter[str] = Counter()
        for _ in workers:
            for round_, side, began, ended, counts in out.get(timeout=600):
                span = phases.setdefault((round_, side), [began, ended])
                span[0], span[1] = min(span[0], began), max(span[1], ended)
                totals.update(counts)
        for worker in workers:
            worker.join(timeout=30)
        trades = totals.pop("trades", 0)
        timed = sum(end - begin for begin, end in phases.values())
        return Result(trades, timed, dict(totals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of the whole comparison; medians printed"
    )
    args = parser.parse_args()
    clients = args.processes * args.threads
    workloads = (("spread over 2,000 artists", 10, False), ("one hot artist", 1, True))
    ratios: dict[str, list[tuple[float, float, float, float, float]]] = {}
    for run in range(1, args.repeat + 1):
        for label, scale, hot in workloads:
            # pgbench before and after datm, and their mean as the baseline: the
            # machine's speed drifts by minutes, and bracketing cancels most of it.
            before = pgbench(args.url, scale, clients, args.seconds)
            executed = datm_execute(args.url, args.processes, args.threads, args.seconds, hot)
            cycled = datm_cycle(args.url, args.processes, args.threads, args.seconds, hot)
            after = pgbench(args.url, scale, clients, args.seconds)
            tps = (before + after) / 2
            ratios.setdefault(label, []).append(
                (tps, executed.rate, executed.rate / tps, cycled.rate, cycled.rate / tps)
            )
            print(
                f"run {run}, {label}: pgbench (scale {scale}, -c {clients}) {tps:,.0f} tps "
                f"(before {before:,.0f}, after {after:,.0f}); "
                f"datm execute {executed.rate:,.0f} trades/s ({executed.rate / tps:.2f}x, "
                f"{executed.trades:,} in {executed.seconds:.1f} s, refused: "
                f"{executed.errors or 'none'}); datm quote+execute {cycled.rate:,.0f} trades/s "
                f"({cycled.rate / tps:.2f}x, refused: {cycled.errors or 'none'})",
                flush=True,
            )
    print()
    print(f"medians of {args.repeat} run(s):")
    print("| workload | pgbench tps | datm execute | ratio | datm quote+execute | ratio |")
    print("|---|---|---|---|---|---|")
    for label, scale, _hot in workloads:
        tps, executed, executed_ratio, cycled, cycled_ratio = (
            statistics.median(column) for column in zip(*ratios[label], strict=True)
        )
        print(
            f"| {label} (pgbench scale {scale}) | {tps:,.0f} | {executed:,.0f} "
            f"| {executed_ratio:.2f}x | {cycled:,.0f} | {cycled_ratio:.2f}x |"
        )


if __name__ == "__main__":
    main()
