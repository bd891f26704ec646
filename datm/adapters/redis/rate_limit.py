"""``RedisRateLimiter``: one last.fm rate for every datm process on every machine.

The moving window of ``datm.adapters.ratelimit.window`` kept in Redis by the
``limits`` library (a Lua script admits atomically).

**Under faults.** While Redis is down (``RedisHealth`` says so, or a command
fails) each process falls back to an in-process limiter that cannot see the
others. At the full rate, N processes would send N times the limit for as long as
the outage lasts, and last.fm answers a key over its limit by refusing it. So the
wiring (``datm.wiring.lastfm.lastfm_limiters``) gives each fallback a share of its
limit, ``LASTFM_FALLBACK_SHARE``: the shared rate times the share, and the close's
limit times the share (a close process's requests pass both, so they stay within
the close's share of the rate and the process within its share of the whole).
With N processes calling last.fm, close processes included, the total during an
outage is at most N x share x the rate: within the rate while N <= 1 / share.

The default is 1/4. datm cannot count its processes (they start and stop on many
machines, and a dead Redis is exactly when they cannot tell each other), so the
share is the operator's statement of how many there are. 1/4 keeps a deployment
of up to four processes (issue 15's soak runs four api processes; a small one
runs two or three and a close) within the limit, and gives a single process a
quarter of the rate rather than nothing: an outage then costs throughput, never
the key. A deployment of more processes sets 1/N; one that cares more for
throughput during an outage than for the limit sets up to 1. Without Redis there
is nothing to fall back from and each process keeps the full rate.

Tolerance: each limit holds its own window exactly, but the fallback does not know
what the shared window admitted just before the outage, nor the shared window
what the fallbacks admitted just before Redis came back. A one-second window that
spans the start or the end of an outage may therefore hold the shared rate and the
fallbacks' shares together, up to twice the rate once per transition (last.fm
judges the rate over minutes); every window inside the outage holds at most the
processes' shares together (``tests/cache/test_fallback_share_processes.py``).
"""

from __future__ import annotations

import time

import redis
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from datm.adapters.ratelimit.window import rate_item, wait_for_admission
from datm.adapters.redis.client import REDIS_FAILURES, RedisHealth
from datm.ports.rate_limit import RateLimiter


class RedisRateLimiter(RateLimiter):
    """Admits at most ``rate_per_second`` requests across all processes that share
    Redis and ``name`` (one name per API key). Thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        health: RedisHealth,
        rate_per_second: float,
        fallback: RateLimiter,
        max_wait_seconds: float = 10.0,
        name: str = "lastfm",
        prefix: str = "datm:ratelimit",
    ) -> None:
        self._item = rate_item(rate_per_second, name)
        self._name = name
        self._health = health
        self._fallback = fallback
        self._max_wait = max_wait_seconds
        # Registering the Lua scripts only hashes them: no IO until the first acquire.
        storage = RedisStorage(
            "redis://", connection_pool=client.connection_pool, key_prefix=prefix
        )
        self._limiter = MovingWindowRateLimiter(storage)

    @property
    def fallback(self) -> RateLimiter:
        """The limiter that admits while Redis is down."""
        return self._fallback

    def acquire(self) -> None:
        fell_back: list[bool] = []

        def try_once() -> float | None:
            if not self._health.available():
                fell_back.append(True)
                return None
            try:
                wait = self._try_redis()
            except REDIS_FAILURES as error:
                self._health.failed(error)
                fell_back.append(True)
                return None
            self._health.succeeded()
            return wait

        wait_for_admission(try_once, self._max_wait)
        if fell_back:
            self._fallback.acquire()

    def _try_redis(self) -> float | None:
        if self._limiter.hit(self._item, self._name):
            return None
        reset = self._limiter.get_window_stats(self._item, self._name).reset_time
        return reset - time.time()
