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


def address_of(client: redis.Redis) -> str:
    """Where ``client`` connects, for log lines: host:port/db or a socket's path.
    Built from the connection's keywords, never from the URL, so no password."""
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"{where}/{kwargs.get('db', 0)}"


def close(client: redis.Redis, health: RedisHealth) -> None:
    """Close ``client``'s connections for good (``datm.close``): ``health`` then
    never lets a caller try Redis again, so nothing reconnects; they fall back."""
    health.close()
    client.close()
    client.connection_pool.disconnect()


class RedisHealth:
    """Whether datm should try Redis now; thread-safe, one per client.

    After a failure Redis is left alone for a back-off that doubles from
    ``first_backoff`` up to ``max_backoff`` seconds, so an outage costs one short
    timeout per back-off period instead of one per call. The first success after
    the back-off resets it.

    It logs transitions, not calls: one WARNING when Redis goes away (every
    fallback starts then), one INFO when it is back, DEBUG for each failed retry
    in between. At a thousand requests a second, a line per call would bury
    everything else in the log.
    """

    FALLBACK = "falling back to this process's own last.fm cache and rate limit"

    def __init__(
        self,
        first_backoff: float = 1.0,
        max_backoff: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        address: str = "its configured address",
    ) -> None:
        self._first = first_backoff
        self._max = max_backoff
        self._monotonic = monotonic
        self._address = address
        self._lock = threading.Lock()
        self._backoff = 0.0
        self._retry_at = 0.0
        self._closed = False

    @property
    def down(self) -> bool:
        """True between a failure and the first success after it."""
        with self._lock:
            return self._backoff > 0

    def available(self) -> bool:
        """False while backing off after a failure, and for good once closed."""
        with self._lock:
            return not self._closed and self._monotonic() >= self._retry_at

    def close(self) -> None:
        """Never try Redis again (its client was closed)."""
        with self._lock:
            self._closed = True

    def failed(self, error: BaseException) -> None:
        with self._lock:
            was_up = self._backoff == 0
            now = self._monotonic()
            # Only the first failure, or a failed retry, moves the back-off: calls
            # that were in flight when the outage began fail together, and counted
            # one by one they made the first back-off 4 s, 8 s... for one outage.
            if was_up or now >= self._retry_at:
                self._backoff = min(self._max, self._backoff * 2 or self._first)
                self._retry_at = now + self._backoff
            backoff = self._backoff
        # The reason is the exception's type and text: redis-py's messages name the
        # address and the failure, never the password of the URL.
        reason = f"{type(error).__name__}: {error}"
        if was_up:
            log.warning(
                "Redis unreachable at %s (%s); %s, trying Redis again in %.1f s",
                self._address,
                reason,
                self.FALLBACK,
                backoff,
            )
        else:
            log.debug(
                "Redis at %s still unreachable (%s); next try in %.1f s",
                self._address,
                reason,
                backoff,
            )

    def succeeded(self) -> None:
        with self._lock:
            if self._backoff == 0:
                return
            self._backoff = 0.0
            self._retry_at = 0.0
        log.info(
            "Redis at %s reachable again; the last.fm cache and rate limit are shared again",
            self._address,
        )
