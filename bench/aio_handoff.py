"""What handing a call to a thread and its result back to the loop costs, in CPU.

    python bench/aio_handoff.py [--seconds 3] [--threads 8] [--tasks 64] [--rounds 3]

The call sleeps 0.2 ms (it releases the GIL, as a database round trip does), so
that the process's CPU per call is the hand-off's: the loop's side and the
thread's. Three ways, in turns, each for ``--seconds``:

  threads:   ``--threads`` threads calling it in a loop (the baseline: no loop);
  executor:  ``--tasks`` asyncio tasks through ``loop.run_in_executor`` on a
             ``ThreadPoolExecutor`` of ``--threads`` (a ``concurrent.futures``
             future chained to an asyncio one by ``wrap_future``);
  datm.aio:  the same tasks through ``datm.aio.runner.Runner`` of ``--threads``
             (a queue, and one ``call_soon_threadsafe`` per result).

It prints calls per second and the process's CPU per call, and each async way's
CPU per call less the baseline's: what the hand-off adds to every awaited call.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable

from datm.aio.runner import Runner

CALL_SECONDS = 0.0002


def call() -> None:
    time.sleep(CALL_SECONDS)


def cpu() -> float:
    now = os.times()
    return now.user + now.system


def threads_way(threads: int, seconds: float) -> tuple[float, float]:
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def loop(index: int) -> None:
        while time.perf_counter() < stop:
            call()
            counts[index] += 1

    started, wall = cpu(), time.perf_counter()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done = sum(counts)
    return done / (time.perf_counter() - wall), (cpu() - started) / done


async def tasks_way(
    run: Callable[[], Awaitable[None]], tasks: int, seconds: float
) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    done = 0

    async def client() -> None:
        nonlocal done
        while loop.time() < stop:
            await run()
            done += 1

    started, wall = cpu(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(tasks)))
    return done / (time.perf_counter() - wall), (cpu() - started) / done


async def executor_way(threads: int, tasks: int, seconds: float) -> tuple[float, float]:
    executor = concurrent.futures.ThreadPoolExecutor(threads)
    loop = asyncio.get_running_loop()
    try:
        return await tasks_way(lambda: loop.run_in_executor(executor, call), tasks, seconds)
    finally:
        executor.shutdown()


async def runner_way(threads: int, tasks: int, seconds: float) -> tuple[float, float]:
    runner = Runner(threads)
    try:
        return await tasks_way(lambda: runner.run(call), tasks, seconds)
    finally:
        await runner.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    added: dict[str, list[float]] = {"executor": [], "datm.aio": []}
    for round_ in range(1, args.rounds + 1):
        rate, base = threads_way(args.threads, args.seconds)
        line = f"round {round_}: threads {rate:7.0f} calls/s, {base * 1e6:5.1f} us CPU a call"
        for name, way in (("executor", executor_way), ("datm.aio", runner_way)):
            rate, per_call = asyncio.run(way(args.threads, args.tasks, args.seconds))
            added[name].append(per_call - base)
            line += f"; {name} {rate:7.0f} calls/s, {per_call * 1e6:5.1f} us"
        print(line, flush=True)
    print(
        "CPU the hand-off adds to a call, median: "
        + ", ".join(f"{name} {statistics.median(v) * 1e6:.1f} us" for name, v in added.items())
    )


if __name__ == "__main__":
    main()
