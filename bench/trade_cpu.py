"""Where a trade's CPU goes: client and server CPU per executed trade, under load.

    python bench/trade_cpu.py [--hot] [--processes 4] [--threads 4] [--rounds 2]

The execute workload of ``trade_throughput.py`` (16 clients executing quoted buys
then sells, in rounds), with this process joining the workers' barrier so that it
reads the CPU counters of /proc at the start and end of each timed phase only:
the worker processes' CPU (the client), every ``postgres`` process's CPU (the
server) and the whole machine's busy time. Needs the server on this machine.
On 2 cores, throughput is about 2 / (client + server CPU per trade), so the
split says which side a change must make cheaper.

    python bench/trade_cpu.py --pgbench [--scale 10]

reads the same counters around pgbench's tpcb-like run (-c 16 -j 4, 10 s):
the machine's busy time per pgbench transaction, the other side of the ratio.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trade_throughput import (
    DEFAULT_URL,
    database,
    pgbench_figure,
    run_pgbench,
    start_execute_workers,
)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int | str]) -> float:
    """User and system CPU of these processes so far (those gone count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / TICK


def postgres_pids() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                found.append(pid)
        except OSError:
            continue
    return found


def busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICK  # all but idle and iowait


def pgbench_cpu(url: str, scale: int, seconds: int = 10) -> None:
    """The machine's busy time per pgbench transaction (its client and server)."""
    spent: list[float] = []

    @contextmanager
    def timed() -> Iterator[None]:
        busy, wall = busy_seconds(), time.perf_counter()
        yield
        spent.extend((busy_seconds() - busy, time.perf_counter() - wall))

    out = run_pgbench(url, scale, 16, seconds, timed)
    busy, wall = spent
    done = pgbench_figure(out, r"number of transactions actually processed: (\d+)")
    print(
        f"pgbench scale {scale}: {done / wall:,.0f} transactions/s over the whole run; "
        f"whole machine {busy * 1000 / done:.3f} ms per transaction; cores busy {busy / wall:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--hot", action="store_true", help="every client trades one artist")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pgbench", action="store_true", help="measure pgbench instead")
    parser.add_argument("--scale", type=int, default=10, help="pgbench's scale")
    args = parser.parse_args()
    if args.pgbench:
        pgbench_cpu(args.url, args.scale)
        return
    with database(args.url, "datm_bench_cpu") as db:
        run = start_execute_workers(
            db, args.processes, args.threads, args.rounds, args.hot, observers=1
        )
        workers, out, barrier = run.workers, run.out, run.barrier
        client = server = busy = wall = 0.0
        for _phase in range(args.rounds * 2):  # buys, then sells, each round
            barrier.wait()
            pids, server_pids = [w.pid for w in workers if w.pid], postgres_pids()
            c0, s0, b0, w0 = (
                cpu_seconds(pids),
                cpu_seconds(server_pids),
                busy_seconds(),
                time.perf_counter(),
            )
            barrier.wait()
            client += cpu_seconds(pids) - c0
            server += cpu_seconds(server_pids) - s0
            busy += busy_seconds() - b0
            wall += time.perf_counter() - w0
        trades = 0
        for _ in workers:
            trades += sum(counts.get("trades", 0) for *_, counts in out.get(timeout=600))
        for worker in workers:
            worker.join(timeout=30)
    ms = 1000 / trades
    print(
        f"{'hot' if args.hot else 'spread'}: {trades:,} trades in {wall:.1f} s = "
        f"{trades / wall:,.0f}/s; CPU per trade: client {client * ms:.3f} ms, "
        f"server {server * ms:.3f} ms, whole machine {busy * ms:.3f} ms; "
        f"cores busy {busy / wall:.2f}"
    )


if __name__ == "__main__":
    main()
