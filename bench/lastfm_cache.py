"""Warm-hit latency of the last.fm cache against a bare Redis GET, in the same run.

    python bench/lastfm_cache.py [--url redis://127.0.0.1:6379/0] [--calls 20000]

Three timings, each of ``--calls`` calls, one at a time from one thread:
  GET:     a bare Redis GET round trip of the stored artist.getInfo answer, on the
           same client settings datm uses (the floor of any shared hit);
  local:   ``CachingLastfm.artist_info`` answered by the in-process cache;
  shared:  the same call answered by Redis with a cold in-process cache (a fresh
           ``CachingLastfm`` per call, built before the clock starts, all sharing
           one ``RedisSharedCache`` as the threads of one process do): local miss,
           single flight, dogpile's GET, JSON decoding, local store.
Each row prints p50, p99 and mean in microseconds, and its ratio to GET's p50.
Upstream is a fake port that counts calls; the bench checks it was asked once.
Keys live under a random prefix and are deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "cache"))

from cache_fakes import CountingLastfm

from datm.adapters.lastfm.caching import CachingLastfm
from datm.adapters.redis.cache import RedisSharedCache
from datm.adapters.redis.client import RedisHealth, connect

DEFAULT_URL = "redis://127.0.0.1:6379/0"
ARTIST = "Fleetwood Mac"


def timed(calls: int, call: Callable[[int], object]) -> list[float]:
    """Microseconds per call, one call at a time; GC off so a collection does not
    land on one row and not another."""
    took: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for i in range(calls):
            start = time.perf_counter_ns()
            call(i)
            took.append((time.perf_counter_ns() - start) / 1000)
    finally:
        gc.enable()
    return took


def row(label: str, took: list[float], baseline: float) -> str:
    took = sorted(took)
    p50 = statistics.median(took)
    p99 = took[int(len(took) * 0.99) - 1]
    mean = statistics.fmean(took)
    return f"{label:<38}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}{p50 / baseline:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    prefix = f"bench:{uuid.uuid4().hex[:12]}:"
    client = connect(args.url, timeout_seconds=0.5)
    shared = RedisSharedCache(client, RedisHealth(), prefix=prefix)
    upstream = CountingLastfm()
    warm = CachingLastfm(upstream, shared)
    try:
        warm.artist_info(ARTIST)  # fills Redis and warm's local cache
        [key] = [k for k in client.scan_iter(match=f"{prefix}*") if b"lock" not in k]
        size = len(client.get(key) or b"")
        for _ in range(1000):  # warm the connection, the interpreter's caches
            client.get(key)
            warm.artist_info(ARTIST)

        get = timed(args.calls, lambda _: client.get(key))
        local = timed(args.calls, lambda _: warm.artist_info(ARTIST))
        colds = [CachingLastfm(upstream, shared) for _ in range(args.calls)]
        remote = timed(args.calls, lambda i: colds[i].artist_info(ARTIST))
        assert upstream.calls["artist_info"] == 1, upstream.calls
    finally:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)

    baseline = statistics.median(get)
    print(
        f"last.fm cache warm hits: {args.calls} calls each, artist.getInfo answer "
        f"of {size} bytes, Redis {client.info()['redis_version']} at {args.url}, "
        f"redis-py {redis.__version__}, Python {sys.version.split()[0]}"
    )
    print(f"{'':<38}{'p50 us':>9}{'p99 us':>9}{'mean us':>9}{'x GET p50':>10}")
    print(row("bare Redis GET round trip", get, baseline))
    print(row("in-process hit (CachingLastfm)", local, baseline))
    print(row("shared hit, cold local (Redis)", remote, baseline))


if __name__ == "__main__":
    main()
