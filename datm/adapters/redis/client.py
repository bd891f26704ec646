"""The Redis client datm shares, and the health gate that keeps a dead Redis cheap."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

# What a Redis outage looks like from the client: refused or reset connections,
# timeouts (all RedisError) and socket errors that slip through as OSError.
REDIS_FAILURES: tuple[type[Exception], ...] = (redis.RedisError, OSError)


def connect(url: str, timeout_seconds: float = 0.25) -> redis.Redis:
    """A client for ``url`` that fails fast. Opens no connection until first used.

    redis-py (6 and later) retries a failed command three times with back-off by
    default; with Redis down that would stall every last.fm call for seconds, so
    datm turns retries off and lets ``RedisHealth`` decide when to try again.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )


class RedisHealth:
    """Whether datm should try Redis now; thread-safe, one per client.

    After a failure Redis is left alone for a back-off that doubles from
    ``first_backoff`` up to ``max_backoff`` seconds, so an outage costs one short
    timeout per back-off period instead of one per call. The first success after
    the back-off resets it.
    """

    def __init__(
        self,
        first_backoff: float = 1.0,
        max_backoff: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._first = first_backoff
        self._max = max_backoff
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._backoff = 0.0
        self._retry_at = 0.0

    @property
    def down(self) -> bool:
        """True between a failure and the first success after it."""
        with self._lock:
            return self._backoff > 0

    def available(self) -> bool:
        """False while backing off after a failure."""
        with self._lock:
            return self._monotonic() >= self._retry_at

    def failed(self, error: BaseException) -> None:
        with self._lock:
            was_up = self._backoff == 0
            self._backoff = min(self._max, self._backoff * 2 or self._first)
            self._retry_at = self._monotonic() + self._backoff
            backoff = self._backoff
        if was_up:
            log.warning("Redis unavailable, using in-process fallbacks: %r", error)
        else:
            log.debug("Redis still unavailable; next try in %.1f s", backoff)

    def succeeded(self) -> None:
        with self._lock:
            if self._backoff == 0:
                return
            self._backoff = 0.0
            self._retry_at = 0.0
        log.info("Redis available again")
