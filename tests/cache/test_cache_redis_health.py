"""``RedisHealth``: after a failure Redis is left alone for a doubling back-off."""

from __future__ import annotations

from datm.adapters.redis.client import RedisHealth


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_closes_redis_for_the_back_off_then_one_try_is_allowed() -> None:
    ticks = Ticks()
    health = RedisHealth(first_backoff=1.0, max_backoff=4.0, monotonic=ticks)
    assert health.available() and not health.down
    health.failed(ConnectionError("refused"))
    assert not health.available() and health.down
    ticks.now += 0.99
    assert not health.available()
    ticks.now += 0.01
    assert health.available() and health.down


def test_the_back_off_doubles_up_to_its_cap_and_a_success_resets_it() -> None:
    ticks = Ticks()
    health = RedisHealth(first_backoff=1.0, max_backoff=4.0, monotonic=ticks)
    waits = []
    for _ in range(5):
        health.failed(TimeoutError())
        start = ticks.now
        while not health.available():
            ticks.now += 0.5
        waits.append(ticks.now - start)
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]
    health.succeeded()
    assert health.available() and not health.down
    health.failed(TimeoutError())
    ticks.now += 1.0
    assert health.available()


def test_calls_in_flight_failing_together_are_one_failure_not_a_longer_back_off() -> None:
    # Threads that all asked Redis before the outage was noticed fail together: one
    # outage, one back-off. Counted one by one, three such failures made the first
    # back-off 4 s, and a retry after Redis came back could come too late.
    ticks = Ticks()
    health = RedisHealth(first_backoff=1.0, max_backoff=30.0, monotonic=ticks)
    for _ in range(3):
        health.failed(ConnectionError("refused"))
        ticks.now += 0.01
    ticks.now += 0.97
    assert health.available()  # 1 s after the first failure, not 4
    for _ in range(3):  # the retry fails, in three threads at once
        health.failed(ConnectionError("refused"))
    ticks.now += 1.99
    assert not health.available()
    ticks.now += 0.01
    assert health.available()  # 2 s after the failed retry: doubled once
