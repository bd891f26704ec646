"""Trades per second through ``datm.aio`` against the sync services, in the same run.

    python bench/aio.py [--url URL] [--seconds 10] [--rounds 3] [--clients 64]

One process, one Postgres database made for the run (artists seeded by SQL at price
100 with 5,000 shares, so that nothing is refused for money or shares; players
logged in through the offline last.fm). Each round times, for ``--seconds`` each:

  sync: ``--clients`` threads, each a player quoting and executing buy then sell
        through ``TradingService`` (what a threaded api server does);
  aio:  ``--clients`` asyncio tasks doing the same through ``datm.aio``'s services
        (its settings' defaults: ``AIO_MAX_CALLS`` threads at ``AIO_WORKER_NICE``,
        unless ``--max-calls`` / ``--worker-nice`` say otherwise), while a heartbeat
        task sleeps 1 ms at a time and records how late it wakes: the loop's lateness.

Both count executed buys and sells per second. The ratio aio / sync of each round
is printed (target >= 0.9x), with the loop's p50 / p99 / max lateness during the
aio phase (target p99 <= 5 ms), and each phase's CPU: this process's per trade and
the whole machine's busy share. The two run in turns, so that the machine's drift
falls on both. Before the rounds, a cold start: the heartbeat's lateness while
``datm.aio.open`` builds everything and a first client logs in and trades (the
pool's first connections and the schema check happen then).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable

from trade_cpu import busy_seconds
from trade_throughput import DEFAULT_URL, SECRET, _seed, cycle_threads, database

import datm
import datm.aio
from datm.aio.typed import AsyncTradingService
from datm.domain.errors import DatmError
from datm.services.trading import TradingService
from datm.settings import Settings
from datm.wiring import create_injector

HEARTBEAT = 0.001  # seconds the heartbeat sleeps each time


def settings_for(args: argparse.Namespace, url: str) -> Settings:
    """A connection for each sync thread; datm.aio's own settings at their defaults
    unless the command line chose."""
    aio = {"aio_max_calls": args.max_calls, "aio_worker_nice": args.worker_nice}
    return Settings(
        database_url=url,
        quote_secret=SECRET,
        pool_size=args.clients,
        quote_validity_seconds=15.0,
        **{name: value for name, value in aio.items() if value is not None},
    )


class Cpu:
    """This process's CPU and the machine's busy share between two readings."""

    def __init__(self) -> None:
        self._times = os.times()
        self._busy = busy_seconds()

    def report(self, trades: int) -> str:
        now = os.times()
        used = now.user - self._times.user + now.system - self._times.system
        cores = (now.elapsed - self._times.elapsed) * (os.cpu_count() or 1)
        busy = (busy_seconds() - self._busy) / max(cores, 1e-9)
        return f"process CPU {used / max(trades, 1) * 1e6:.0f} us/trade, machine busy {busy:.0%}"


def sync_phase(
    trading: TradingService, keys: list[str], mbids: list[str], seconds: float
) -> tuple[int, Counter[str]]:
    """Executed trades over ``seconds`` from one thread per player."""
    start = time.perf_counter() + 0.2
    counts = cycle_threads(trading, keys, mbids, start, start + seconds, time.perf_counter)
    return counts.pop("trades", 0), counts


async def heartbeat(beats: Callable[[], list[float]], until: Callable[[], bool]) -> None:
    """Sleep ``HEARTBEAT`` at a time until ``until()``, appending to ``beats()`` how
    late each wake-up was: the loop's lateness."""
    loop = asyncio.get_running_loop()
    while not until():
        before = loop.time()
        await asyncio.sleep(HEARTBEAT)
        beats().append(loop.time() - before - HEARTBEAT)


async def trade(trading: AsyncTradingService, key: str, mbid: str, side: str) -> None:
    """Quote one side, then execute the quote."""
    quote = await trading.quote(key, mbid, side)
    await (trading.buy if side == "buy" else trading.sell)(key, quote.token)


async def cold_start(settings: Settings, key: str, mbid: str) -> dict[str, list[float]]:
    """The loop's lateness with nothing running, while datm.aio.open builds and
    warms up everything, then while one client makes the first calls (a buy and a
    sale, each quoted: the pool's first connection and the schema check happen
    then), then while it closes."""
    late: dict[str, list[float]] = {"idle": [], "open": [], "first calls": [], "close": []}
    part = "idle"
    done = asyncio.Event()

    async def first_calls() -> None:
        nonlocal part
        await asyncio.sleep(0.2)  # the heartbeat alone: the timer's own lateness
        part = "open"
        try:
            async with datm.aio.open(settings, wiring="postgres") as services:
                part = "first calls"
                for side in ("buy", "sell"):
                    await trade(services.trading, key, mbid, side)
                part = "close"
        finally:
            done.set()

    await asyncio.gather(heartbeat(lambda: late[part], done.is_set), first_calls())
    return late


async def aio_phase(
    services: datm.aio.AsyncServices, keys: list[str], mbids: list[str], seconds: float
) -> tuple[int, Counter[str], list[float]]:
    """Executed trades over ``seconds`` from one task per player, and the loop's
    lateness (seconds) at each heartbeat meanwhile."""
    trading = services.trading
    counts: Counter[str] = Counter()
    late: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    stop = start + seconds

    async def client(key: str, seed: int) -> None:
        rng = random.Random(seed)
        await asyncio.sleep(start - loop.time())
        while loop.time() < stop:
            mbid = rng.choice(mbids)
            for side in ("buy", "sell"):
                try:
                    await trade(trading, key, mbid, side)
                    counts["trades"] += 1
                except DatmError as error:
                    counts[error.code] += 1
                    break

    async def beats() -> None:
        await asyncio.sleep(start - loop.time())
        await heartbeat(lambda: late, lambda: loop.time() >= stop)

    await asyncio.gather(beats(), *(client(k, i) for i, k in enumerate(keys)))
    return counts.pop("trades", 0), counts, late


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def rounds(args: argparse.Namespace, url: str, keys: list[str], mbids: list[str]) -> None:
    """Every round in one event loop, with one datm.aio pool and one injector for
    both ways; the sync phase runs its threads from a thread of its own."""
    settings = settings_for(args, url)
    cold = await cold_start(settings, keys[0], mbids[0])
    injector = create_injector(settings, wiring="postgres")
    trading = injector.get(TradingService)
    services = datm.aio.services(injector)
    ratios: list[float] = []
    lateness: list[float] = []
    print(
        f"{args.clients} clients, {args.seconds:.0f} s a phase, {len(mbids)} artists;"
        f" datm.aio: {settings.aio_max_calls} threads at nice +{settings.aio_worker_nice}"
    )
    print(
        "cold start, loop late max:",
        ", ".join(
            f"{part} {max(beats, default=0) * 1000:.2f} ms ({len(beats)} beats)"
            for part, beats in cold.items()
        ),
        flush=True,
    )
    try:
        for round_ in range(1, args.rounds + 1):
            cpu = Cpu()
            sync_trades, sync_errors = await asyncio.to_thread(
                sync_phase, trading, keys, mbids, args.seconds
            )
            sync_cpu, cpu = cpu.report(sync_trades), Cpu()
            aio_trades, aio_errors, late = await aio_phase(services, keys, mbids, args.seconds)
            aio_cpu = cpu.report(aio_trades)
            sync_rate = sync_trades / args.seconds
            aio_rate = aio_trades / args.seconds
            ratios.append(aio_rate / sync_rate)
            lateness.extend(late)
            print(
                f"round {round_}: sync {sync_rate:7.1f} trades/s, aio {aio_rate:7.1f} trades/s,"
                f" ratio {aio_rate / sync_rate:.2f}x; loop late p50 {ms(late, 0.5):.2f} ms,"
                f" p99 {ms(late, 0.99):.2f} ms, max {max(late) * 1000:.2f} ms"
                f" ({len(late)} beats); refused: sync {dict(sync_errors) or 'none'},"
                f" aio {dict(aio_errors) or 'none'}\n  sync: {sync_cpu}; aio: {aio_cpu}",
                flush=True,
            )
    finally:
        await services.aclose()
        datm.close(injector)
    print(
        f"median ratio {statistics.median(ratios):.2f}x (target >= 0.9x);"
        f" loop lateness over all aio phases p99 {ms(lateness, 0.99):.2f} ms"
        f" (target <= 5 ms), max {max(lateness) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--max-calls", type=int, help="AIO_MAX_CALLS (default: its default)")
    parser.add_argument("--worker-nice", type=int, help="AIO_WORKER_NICE (default: its default)")
    parser.add_argument(
        "--no-gc", action="store_true", help="collector off (to see its pauses in the max)"
    )
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    with database(args.url, "datm_bench_aio") as url:
        keys, mbids = _seed(url, args.clients)
        asyncio.run(rounds(args, url, keys, mbids))


if __name__ == "__main__":
    main()
