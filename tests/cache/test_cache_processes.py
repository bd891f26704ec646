"""The acceptance of issue #5 for the cache and the rate limit, in real processes
started with ``spawn`` (each an api process of its own) sharing Redis:

- an artist asked 100 times by each of 3 processes within the TTL costs one
  upstream request in total;
- bursting through the shared limit, the 3 processes together stay within 10 %
  of the configured rate;
- with Redis killed mid-run every request still succeeds, and each process's
  requests are still held to the rate by its in-process limiter.
"""

from __future__ import annotations

import time

import cache_workers as workers
import redis
import redis_support
from cache_spawn import PROCESSES, processes


def test_three_processes_asking_one_artist_100_times_make_one_upstream_request(
    redis_url: str, prefix: str
) -> None:
    counter = prefix + "upstream-requests"
    with processes(workers.ask_one_artist, redis_url, prefix, counter, 100, 4) as (_, reports):
        got = reports()
    assert all(r["errors"] == [] and not r["redis_down"] for r in got)
    assert [r["count"] for r in got] == [100] * PROCESSES
    assert len({answer for r in got for answer in r["answers"]}) == 1
    assert int(redis.Redis.from_url(redis_url).get(counter) or 0) == 1


def test_three_processes_bursting_stay_within_ten_percent_of_the_shared_rate(
    redis_url: str, prefix: str
) -> None:
    rate, seconds = 20.0, 3.0
    with processes(workers.burst, redis_url, prefix, rate, seconds, 2) as (began, reports):
        got = reports()
    assert all(r["errors"] == [] and r["fell_back"] == 0 for r in got)
    admitted = sorted(t for r in got for t in r["admitted"])
    assert all(began <= t < began + seconds for t in admitted)
    measured = len(admitted) / seconds
    assert abs(measured - rate) <= 0.1 * rate, f"{measured:.1f}/s against {rate}/s"
    assert all(r["admitted"] for r in got), "every process got some of the rate"


def per_second_peak(times: list[float]) -> int:
    """The most requests in any one-second window."""
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t < moment + 1.0) for i, moment in enumerate(times)), default=0
    )


def test_with_redis_killed_mid_run_requests_succeed_and_each_process_is_still_limited(
    own_redis: redis_support.OwnRedis,
) -> None:
    rate, seconds, kill_after = 10.0, 4.0, 1.5
    with processes(workers.serve_through_outage, own_redis.url, "outage:", rate, seconds, 2) as (
        began,
        reports,
    ):
        time.sleep(max(0.0, began + kill_after - time.time()))
        own_redis.kill()
        killed = time.time()
        got = reports()
    calls = [call for r in got for call in r["calls"]]
    assert [error for _, error in calls if error] == []
    assert all(sum(1 for at, _ in r["calls"] if at > killed + 0.5) > 0 for r in got)
    assert all(r["fell_back"] > 0 for r in got)
    before = [t for r in got for t in r["upstream_at"] if t < killed]
    # Measured after the admission, so a request may look a little late: +2.
    assert per_second_peak(before) <= rate + 2
    for report in got:
        after = [t for t in report["upstream_at"] if t > killed]
        assert after, "the process kept asking last.fm"
        assert per_second_peak(after) <= rate + 2
