"""``RedisRateLimiter`` in one process: one window for every limiter sharing Redis,
and the in-process fallback while Redis is down. (Across processes:
``test_cache_processes.py``.)"""

from __future__ import annotations

import time

import pytest
import redis_support

from datm.adapters.ratelimit.window import InProcessRateLimiter
from datm.adapters.redis.client import RedisHealth, connect
from datm.adapters.redis.rate_limit import RedisRateLimiter
from datm.domain.errors import LastfmUnavailable
from datm.ports.rate_limit import RateLimiter


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self) -> None:
        self.acquired += 1


def limiter(
    url: str, prefix: str, rate: float, fallback: RateLimiter | None = None, **kwargs: float
) -> tuple[RedisRateLimiter, RedisHealth]:
    health = RedisHealth(first_backoff=float(kwargs.pop("first_backoff", 1.0)))
    return RedisRateLimiter(
        connect(url, 0.1),
        health,
        rate,
        fallback or InProcessRateLimiter(rate),
        max_wait_seconds=kwargs.pop("max_wait_seconds", 10.0),
        prefix=prefix,
    ), health


def test_limiters_sharing_redis_share_one_window(redis_url: str, prefix: str) -> None:
    one, _ = limiter(redis_url, prefix, 10, max_wait_seconds=0.05)
    other, _ = limiter(redis_url, prefix, 10, max_wait_seconds=0.05)
    for _ in range(5):
        one.acquire()
        other.acquire()
    with pytest.raises(LastfmUnavailable):
        one.acquire()
    with pytest.raises(LastfmUnavailable):
        other.acquire()


def test_limiters_of_different_names_do_not_share(redis_url: str, prefix: str) -> None:
    one, _ = limiter(redis_url, prefix + "a", 2, max_wait_seconds=0.05)
    other, _ = limiter(redis_url, prefix + "b", 2, max_wait_seconds=0.05)
    for _ in range(2):
        one.acquire()
        other.acquire()


def test_with_redis_refusing_the_in_process_limiter_admits() -> None:
    fallback = CountingLimiter()
    url = f"redis://127.0.0.1:{redis_support.free_port()}/0"
    shared, health = limiter(url, "p:", 5, fallback)
    for _ in range(20):
        shared.acquire()
    assert fallback.acquired == 20 and health.down


def test_redis_dying_mid_use_hands_over_to_the_fallback_and_back(
    own_redis: redis_support.OwnRedis,
) -> None:
    fallback = CountingLimiter()
    shared, health = limiter(own_redis.url, "p:", 50, fallback, first_backoff=0.05)
    shared.acquire()
    assert fallback.acquired == 0
    own_redis.kill()
    shared.acquire()
    assert fallback.acquired == 1 and health.down
    own_redis.start()
    time.sleep(0.06)  # the back-off
    shared.acquire()
    assert fallback.acquired == 1 and not health.down
