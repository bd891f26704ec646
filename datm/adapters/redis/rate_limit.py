"""``RedisRateLimiter``: one last.fm rate for every datm process on every machine.

The moving window of ``datm.adapters.ratelimit.window`` kept in Redis by the
``limits`` library (a Lua script admits atomically). While Redis is down each
process falls back to its own in-process limiter; the total rate is then up to
the number of processes times the fallback's rate, so give the fallback a share
of the rate if that matters more than throughput during an outage.
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
