"""A moving-window limit (the ``limits`` library): at most ``amount`` admissions
in any ``seconds``-long window, and ``InProcessRateLimiter`` built on it.

A moving window rather than a fixed one: a fixed window admits twice the rate
across a window boundary, a moving one never more than the rate in any window.
last.fm judges the rate averaged over minutes, so the burst of ``amount`` at
once that a moving window allows is harmless.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from fractions import Fraction

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from datm.domain.errors import InvalidInput, LastfmUnavailable
from datm.ports.rate_limit import RateLimiter

# How long past a window's reset a waiter sleeps at most, at random: waiters in
# many processes then do not all ask again in the same millisecond.
JITTER_SECONDS = 0.005


def rate_item(
    rate_per_second: float, name: str, *, slower_than_a_minute: bool = False
) -> RateLimitItem:
    """``rate_per_second`` as whole requests per whole seconds, which is what
    ``limits`` counts in: 5.0 is 5 per 1 s, 2.5 is 5 per 2 s, 0.1 is 1 per 10 s.

    Below one a minute it is refused, unless ``slower_than_a_minute``: then it is
    one request per whole number of seconds, rounded to the slower side (a share of
    a slow rate, such as a process's fallback share, never more than its share;
    the burst stays one request)."""
    if not rate_per_second > 0:
        raise InvalidInput("lastfm_rate_per_second", "must be more than 0")
    if slower_than_a_minute and rate_per_second < 1 / 60:
        return RateLimitItemPerSecond(1, math.ceil(1 / rate_per_second), namespace=name)
    ratio = Fraction(rate_per_second).limit_denominator(60)
    if ratio == 0:
        raise InvalidInput("lastfm_rate_per_second", "must be at least one per minute")
    return RateLimitItemPerSecond(ratio.numerator, ratio.denominator, namespace=name)


def wait_for_admission(
    try_once: Callable[[], float | None],
    max_wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``try_once`` until it admits (returns None) or the wait would pass
    ``max_wait_seconds``; it returns the seconds to wait before the next try."""
    deadline = monotonic() + max_wait_seconds
    while True:
        wait = try_once()
        if wait is None:
            return
        wait = max(wait, 0.0) + random.uniform(0, JITTER_SECONDS)
        if monotonic() + wait > deadline:
            raise LastfmUnavailable(f"rate limit: no request slot within {max_wait_seconds} s")
        sleep(wait)


class InProcessRateLimiter(RateLimiter):
    """Holds this process to ``rate_per_second``; thread-safe. Used without Redis,
    and by ``RedisRateLimiter`` while Redis is down (at the process's share of the
    rate: ``datm.adapters.redis.rate_limit``). ``slower_than_a_minute`` as for
    ``rate_item``."""

    def __init__(
        self,
        rate_per_second: float,
        max_wait_seconds: float = 10.0,
        name: str = "lastfm",
        *,
        slower_than_a_minute: bool = False,
    ) -> None:
        self._item = rate_item(rate_per_second, name, slower_than_a_minute=slower_than_a_minute)
        self._rate = rate_per_second
        self._name = name
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._max_wait = max_wait_seconds

    @property
    def rate_per_second(self) -> float:
        """The rate as configured (``rate_item`` counts it in whole requests)."""
        return self._rate

    def acquire(self) -> None:
        wait_for_admission(self._try_once, self._max_wait)

    def _try_once(self) -> float | None:
        if self._limiter.hit(self._item, self._name):
            return None
        reset = self._limiter.get_window_stats(self._item, self._name).reset_time
        return reset - time.time()
