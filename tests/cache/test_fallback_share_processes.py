"""Shared limits under faults (issue 15, item 4), in real processes started with
``spawn``, each building its limits as the wiring does (``lastfm_limiters``) on a
Redis client of its own: four processes, one of them also running a close.

- Redis down from the start: the four together stay within the rate, each within
  ``LASTFM_FALLBACK_SHARE`` of it, and the close within that share of its own
  share (``CLOSE_LASTFM_SHARE``);
- Redis killed mid-run and started again: what the shared limit admitted is
  within the rate, what the fallbacks admitted within the processes' shares
  together; inside the outage all of it within the rate; once Redis is back no
  fallback admits any more (they are on the shared limit again).

Counts are per window, from the times each worker noted just after an admission,
merged across processes. A thread may be descheduled between its admission and
noting the time (two cores here, four processes), so an admission made just
before a window may be noted inside it: ``SLACK`` per window. A window spanning
the start or end of the outage may hold the shared limit's and the fallbacks'
admissions together (``datm.adapters.redis.rate_limit``'s tolerance), up to twice
the rate; that is asserted too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import fallback_workers
import redis_support
from cache_spawn import SETTLE_SECONDS, SPAWN
from cache_workers import WAIT_SECONDS, Start

RATE = 20.0  # LASTFM_RATE_PER_SECOND
SHARE = 0.25  # LASTFM_FALLBACK_SHARE (its default): four processes make the rate
CLOSE_SHARE = 0.5  # CLOSE_LASTFM_SHARE: the close 10 a second, 2.5 while Redis is down
PROCESSES = 4
SLACK = 3
CONFIG = {
    "LASTFM_API_KEY": "fallback-share-key",
    "LASTFM_API_SECRET": "fallback-share-secret",
    "LASTFM_RATE_PER_SECOND": RATE,
    "LASTFM_FALLBACK_SHARE": SHARE,
    "CLOSE_LASTFM_SHARE": CLOSE_SHARE,
}
# (api threads, close threads): the first process runs a close, whose threads
# alone then press on its limits (api threads there would take the process's
# share first and leave the close's own limit nothing to hold).
ROLES = [(0, 3)] + [(3, 0)] * (PROCESSES - 1)

# When admitted, whose ("api" or "close"), whether by a fallback, when asked for.
Admission = tuple[float, str, bool, float]


@contextmanager
def workers(
    redis_url: str, seconds: float
) -> Iterator[tuple[float, Callable[[], list[dict[str, Any]]]]]:
    """Start the ``ROLES`` workers; yield the common start and their reports."""
    start = Start(SPAWN.Barrier(len(ROLES) + 1), SPAWN.Event(), SPAWN.Value("d", 0.0))
    out = SPAWN.Queue()
    children = [
        SPAWN.Process(
            target=fallback_workers.acquire_through_outage,
            args=(redis_url, CONFIG, api, close, seconds, start, out),
        )
        for api, close in ROLES
    ]
    for child in children:
        child.start()
    try:
        start.ready.wait(WAIT_SECONDS)
        start.at.value = time.time() + SETTLE_SECONDS
        start.go.set()

        def reports() -> list[dict[str, Any]]:
            return [out.get(timeout=WAIT_SECONDS) for _ in children]

        yield start.at.value, reports
        for child in children:
            child.join(WAIT_SECONDS)
            assert child.exitcode == 0
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join(5)


def admissions(report: dict[str, Any], began: float, seconds: float) -> list[Admission]:
    return [
        (at, who, by_fallback, asked)
        for asked, at, who, by_fallback in report["admitted"]
        if began <= at < began + seconds
    ]


def peak(times: list[float], window: float = 1.0, within: tuple[float, float] = (0.0, 1e12)) -> int:
    """The most of ``times`` in any ``window`` seconds, counting only those
    ``within`` an interval."""
    inside = sorted(t for t in times if within[0] <= t < within[1])
    return max(
        (sum(1 for t in inside[i:] if t < at + window) for i, at in enumerate(inside)), default=0
    )


def times(
    got: list[Admission], who: str | None = None, by_fallback: bool | None = None
) -> list[float]:
    return [
        at
        for at, whose, fallback, _ in got
        if who in (None, whose) and by_fallback in (None, fallback)
    ]


def test_four_processes_with_redis_down_stay_within_the_rate_together() -> None:
    seconds = 4.0
    nobody = f"redis://127.0.0.1:{redis_support.free_port()}/0"  # nothing listens
    with workers(nobody, seconds) as (began, reports):
        got = reports()

    assert [r["errors"] for r in got] == [[]] * PROCESSES
    assert all(r["down"] for r in got), "every process saw Redis down"
    each = [admissions(r, began, seconds) for r in got]
    everything = [a for process in each for a in process]
    assert all(by_fallback for _, _, by_fallback, _ in everything)
    # The four shares together make the rate: at full rate each this would be 4x.
    combined = peak(times(everything))
    assert combined <= PROCESSES * SHARE * RATE + SLACK, f"{combined} in one second"
    assert combined <= RATE + SLACK
    for process in each:
        alone = peak(times(process))
        assert alone <= SHARE * RATE + SLACK, f"one process: {alone} in one second"
    # The close's fallback is the share of its share (2.5 a second: 5 per 2 s).
    close = times(everything, "close")
    assert peak(close, 2.0) <= 2 * CLOSE_SHARE * SHARE * RATE + SLACK, peak(close, 2.0)
    # Not vacuous: the limits admitted, close included.
    assert len(everything) >= SHARE * RATE * PROCESSES * seconds / 2, len(everything)
    assert len(close) >= CLOSE_SHARE * SHARE * RATE * seconds / 2, len(close)


def test_through_an_outage_the_processes_keep_to_their_shares_and_return_to_the_shared_limit(
    own_redis: redis_support.OwnRedis,
) -> None:
    seconds, kill_at, start_at = 11.0, 2.0, 4.0
    # RedisHealth's back-off (1 s, 2 s, 4 s) retries from about 3 s, 5 s and 9 s
    # in (later when every thread is waiting at its fallback): by the third retry
    # at the latest every process finds Redis back, with 2 s left to measure.
    with workers(own_redis.url, seconds) as (began, reports):
        time.sleep(max(0.0, began + kill_at - time.time()))
        killed = time.time()  # from here on a worker may find it gone
        own_redis.kill()
        time.sleep(max(0.0, began + start_at - time.time()))
        restarted = time.time()  # from here on a worker may find it back
        own_redis.start()
        got = reports()

    assert [r["errors"] for r in got] == [[]] * PROCESSES
    each = [admissions(r, began, seconds) for r in got]
    everything = [a for process in each for a in process]
    for report, process in zip(got, each, strict=True):
        # Each saw the outage (once) and Redis back after it was started again.
        assert len(report["down"]) == 1 and killed <= report["down"][0] < restarted
        assert len(report["back"]) == 1 and report["back"][0] >= restarted
        down, back = report["down"][0], report["back"][0]
        fallback = times(process, by_fallback=True)
        assert fallback, "the process fell back"
        # Only within its outage: nothing asked for after Redis was back fell back
        # (an acquisition asked for before may still be waiting at its fallback),
        # and the shared limit admitted the process again.
        assert all(down <= at and asked <= back for at, _, by, asked in process if by)
        assert [t for t in times(process, by_fallback=False) if t > back], "back on Redis"
        assert peak(fallback) <= SHARE * RATE + SLACK, f"one process: {peak(fallback)}"

    shared = times(everything, by_fallback=False)
    fallbacks = times(everything, by_fallback=True)
    # Whatever the shared limit admitted, before, across and after the outage.
    assert peak(shared) <= RATE + SLACK, f"shared: {peak(shared)} in one second"
    # Whatever the fallbacks admitted: the shares together.
    assert peak(fallbacks) <= PROCESSES * SHARE * RATE + SLACK, f"fallbacks: {peak(fallbacks)}"
    # All of it: within the rate inside the outage and after it, and at most
    # twice the rate in a window spanning the start or the end of the outage.
    all_times = times(everything)
    outage = (max(r["down"][0] for r in got), min(r["back"][0] for r in got))
    after = (max(r["back"][0] for r in got), began + seconds)
    assert outage[1] - outage[0] >= 1.0, outage  # a whole window inside it
    assert peak(all_times, within=outage) <= RATE + SLACK, peak(all_times, within=outage)
    assert peak(all_times, within=after) <= RATE + SLACK, peak(all_times, within=after)
    assert peak(all_times) <= 2 * RATE + 2 * SLACK, peak(all_times)
    # The close during the outage: the share of its share.
    close = times(everything, "close", by_fallback=True)
    assert peak(close, 2.0) <= 2 * CLOSE_SHARE * SHARE * RATE + SLACK, peak(close, 2.0)
    assert close and times(everything, "close", by_fallback=False)
