"""The in-process last.fm rate limit, and the waiting loop both limiters share."""

from __future__ import annotations

import threading
import time

import pytest

from datm.adapters.ratelimit.window import InProcessRateLimiter, rate_item, wait_for_admission
from datm.domain.errors import InvalidInput, LastfmUnavailable

JOIN_SECONDS = 20.0


@pytest.mark.parametrize(
    ("rate", "amount", "seconds"),
    [(5.0, 5, 1), (20, 20, 1), (2.5, 5, 2), (0.1, 1, 10), (4.7, 47, 10), (1 / 60, 1, 60)],
)
def test_a_rate_becomes_whole_requests_per_whole_seconds(
    rate: float, amount: int, seconds: int
) -> None:
    item = rate_item(rate, "lastfm")
    assert (item.amount, item.get_expiry()) == (amount, seconds)


@pytest.mark.parametrize("rate", [0, -1, 0.001, float("nan")])
def test_a_rate_below_one_per_minute_is_refused(rate: float) -> None:
    with pytest.raises(InvalidInput):
        rate_item(rate, "lastfm")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_wait_sleeps_until_admitted() -> None:
    clock = FakeTime()
    answers = iter([0.3, 0.2, None])
    wait_for_admission(lambda: next(answers), 10.0, clock.sleep, clock.monotonic)
    assert len(clock.slept) == 2 and 0.5 <= clock.now < 0.52


def test_the_wait_gives_up_before_passing_its_bound() -> None:
    clock = FakeTime()
    with pytest.raises(LastfmUnavailable):
        wait_for_admission(lambda: 0.4, 1.0, clock.sleep, clock.monotonic)
    assert clock.now <= 1.0 and len(clock.slept) == 2


def test_the_limiter_holds_threads_together_at_the_rate() -> None:
    rate, seconds, threads = 20, 2.0, 4
    limiter = InProcessRateLimiter(rate)
    admitted: list[float] = []
    lock = threading.Lock()
    start = time.monotonic()

    def burst() -> None:
        while True:
            limiter.acquire()
            now = time.monotonic()
            if now >= start + seconds:
                return
            with lock:
                admitted.append(now)

    workers = [threading.Thread(target=burst) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(JOIN_SECONDS)
    assert not any(worker.is_alive() for worker in workers)
    assert abs(len(admitted) - rate * seconds) <= 0.1 * rate * seconds
    # A moving window: no second holds more than the rate.
    admitted.sort()
    for i, moment in enumerate(admitted):
        assert sum(1 for t in admitted[i:] if t < moment + 1.0) <= rate


def test_the_limiter_raises_a_transient_error_rather_than_wait_past_its_bound() -> None:
    limiter = InProcessRateLimiter(0.1, max_wait_seconds=0.2)  # one per 10 s
    limiter.acquire()
    with pytest.raises(LastfmUnavailable):
        limiter.acquire()
