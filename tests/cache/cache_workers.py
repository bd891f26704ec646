"""What the worker processes of ``test_cache_processes.py`` run.

Each function is importable by a child started with ``spawn``, takes only
picklable arguments, builds its own Redis client, cache and limiter as an api
process would, waits at ``Start`` until every worker is ready, works, and puts
one dict of plain values on the queue. Workers catch ``Exception`` on purpose:
the test asserts there were none.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import redis
from cache_fakes import CountingLastfm

from datm.adapters.lastfm.caching import CachingLastfm
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.ratelimit.window import InProcessRateLimiter
from datm.adapters.redis.cache import RedisSharedCache
from datm.adapters.redis.client import RedisHealth, connect
from datm.adapters.redis.rate_limit import RedisRateLimiter

WAIT_SECONDS = 60.0  # the longest a worker waits for the others, or a thread to end
REDIS_TIMEOUT = 0.5


@dataclass
class Start:
    """Every worker is built (``ready``), then the test sets ``at`` and ``go``."""

    ready: Barrier
    go: Event
    at: Synchronized[float]

    def wait(self) -> float:
        self.ready.wait(WAIT_SECONDS)
        if not self.go.wait(WAIT_SECONDS):
            raise TimeoutError("the test never said go")
        time.sleep(max(0.0, self.at.value - time.time()))
        return float(self.at.value)


class CountingFallback(InProcessRateLimiter):
    """The in-process limiter, counting how often the Redis one fell back to it."""

    used = 0

    def acquire(self) -> None:
        CountingFallback.used += 1
        super().acquire()


def in_threads(count: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("a worker thread did not finish")


def ask_one_artist(
    url: str, prefix: str, counter: str, asks: int, threads: int, start: Start, out: Queue[Any]
) -> None:
    """Ask for one artist ``asks`` times from ``threads`` threads; every call that
    reaches upstream (0.2 s each) is counted in Redis under ``counter``."""
    counting = redis.Redis.from_url(url)
    upstream = CountingLastfm(delay=0.2, on_call=lambda _: counting.incr(counter))
    health = RedisHealth()
    lastfm = CachingLastfm(upstream, RedisSharedCache(connect(url, REDIS_TIMEOUT), health, prefix))
    answers: list[object] = []
    errors: list[str] = []

    def work(thread: int) -> None:
        for _ in range(asks // threads):
            try:
                answers.append(lastfm.artist_info("Cher"))
            except Exception as error:
                errors.append(repr(error))

    start.wait()
    in_threads(threads, work)
    out.put(
        {
            "answers": list(set(answers)),
            "count": len(answers),
            "errors": errors,
            "redis_down": health.down,
        }
    )


def burst(
    url: str, prefix: str, rate: float, seconds: float, threads: int, start: Start, out: Queue[Any]
) -> None:
    """Acquire the shared limit as fast as it admits, for ``seconds``; report when."""
    health = RedisHealth()
    limiter = RedisRateLimiter(
        connect(url, REDIS_TIMEOUT), health, rate, CountingFallback(rate), prefix=prefix
    )
    admitted: list[float] = []
    errors: list[str] = []

    def work(thread: int) -> None:
        while True:
            try:
                limiter.acquire()
            except Exception as error:
                errors.append(repr(error))
                return
            now = time.time()
            if now >= began + seconds:
                return
            admitted.append(now)

    began = start.wait()
    in_threads(threads, work)
    out.put({"admitted": admitted, "errors": errors, "fell_back": CountingFallback.used})


def serve_through_outage(
    url: str, prefix: str, rate: float, seconds: float, threads: int, start: Start, out: Queue[Any]
) -> None:
    """For ``seconds``, each thread asks for new artists (each a last.fm request,
    rate-limited) and for one popular artist (a cache hit), while the test kills
    Redis. Reports every call's time and error, and every upstream request's time."""
    client = connect(url, REDIS_TIMEOUT)
    health = RedisHealth()
    limiter = RedisRateLimiter(client, health, rate, CountingFallback(rate), prefix=prefix)
    upstream_at: list[float] = []
    upstream = CountingLastfm(limiter=limiter, on_call=lambda _: upstream_at.append(time.time()))
    lastfm = CachingLastfm(upstream, RedisSharedCache(client, health, prefix))
    calls: list[tuple[float, str]] = []

    def work(thread: int) -> None:
        for i in range(1_000_000):
            if time.time() >= began + seconds:
                return
            for name in (f"new {thread}.{i}", "Cher"):
                try:
                    lastfm.artist_info(name)
                except Exception as error:
                    calls.append((time.time(), repr(error)))
                else:
                    calls.append((time.time(), ""))

    began = start.wait()
    in_threads(threads, work)
    out.put({"calls": calls, "upstream_at": upstream_at, "fell_back": CountingFallback.used})


@dataclass(frozen=True)
class FakeServer:
    """Where the test's fake last.fm listens, and what a client needs to use it."""

    url: str
    ca_file: str
    api_key: str
    api_secret: str


def real_adapter(fake: FakeServer, limiter: RedisRateLimiter) -> PylastLastfm:
    return PylastLastfm(
        fake.api_key,
        fake.api_secret,
        url=fake.url,
        ca_file=fake.ca_file,
        timeout_seconds=5.0,
        retries=2,
        rate_limiter=limiter,
    )


def ask_through_adapter(
    url: str,
    prefix: str,
    fake: FakeServer,
    asks: int,
    threads: int,
    start: Start,
    out: Queue[Any],
) -> None:
    """As ``ask_one_artist``, through the real adapter to the fake last.fm, with the
    shared rate limit in front of every request, as the api wires it."""
    client = connect(url, REDIS_TIMEOUT)
    health = RedisHealth()
    limiter = RedisRateLimiter(client, health, 5.0, CountingFallback(5.0), prefix=prefix)
    lastfm = CachingLastfm(real_adapter(fake, limiter), RedisSharedCache(client, health, prefix))
    answers: list[object] = []
    errors: list[str] = []

    def work(thread: int) -> None:
        for _ in range(asks // threads):
            try:
                answers.append(lastfm.artist_info("Radiohead"))
            except Exception as error:
                errors.append(repr(error))

    start.wait()
    in_threads(threads, work)
    out.put({"answers": list(set(answers)), "count": len(answers), "errors": errors})


def burst_through_adapter(
    url: str,
    prefix: str,
    fake: FakeServer,
    rate: float,
    seconds: float,
    threads: int,
    start: Start,
    out: Queue[Any],
) -> None:
    """Ask for artists the fake has no recording of (each one request, answered
    with last.fm's error 6, which is never cached) as fast as the limit admits."""
    client = connect(url, REDIS_TIMEOUT)
    health = RedisHealth()
    limiter = RedisRateLimiter(client, health, rate, CountingFallback(rate), prefix=prefix)
    lastfm = CachingLastfm(real_adapter(fake, limiter), RedisSharedCache(client, health, prefix))
    outcomes: Counter[str] = Counter()

    def work(thread: int) -> None:
        for i in range(1_000_000):
            if time.time() >= began + seconds:
                return
            try:
                lastfm.artist_info(f"Nobody {os.getpid()}.{thread}.{i}")
            except Exception as error:
                outcomes[type(error).__name__] += 1
            else:
                outcomes["answered"] += 1

    began = start.wait()
    in_threads(threads, work)
    out.put({"outcomes": dict(outcomes), "fell_back": CountingFallback.used})
