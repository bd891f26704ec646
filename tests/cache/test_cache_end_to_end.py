"""The 3-process acceptance again, end to end: each process asks through
``CachingLastfm`` and the real ``PylastLastfm`` (the shared rate limit on its
transport) over HTTPS to the fake last.fm, which counts what reaches it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cache_workers as workers
import pytest
import redis_support
from cache_spawn import PROCESSES, processes

from datm.fake_lastfm import FakeLastfm

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "lastfm-recordings"


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm(RECORDINGS) as server:
        yield server


def server(fake: FakeLastfm) -> workers.FakeServer:
    return workers.FakeServer(fake.url, str(fake.ca_file), fake.api_key, fake.api_secret)


def test_an_artist_asked_100_times_by_each_of_3_processes_reaches_last_fm_once(
    redis_url: str, prefix: str, fake: FakeLastfm
) -> None:
    with processes(workers.ask_through_adapter, redis_url, prefix, server(fake), 100, 4) as (
        _,
        reports,
    ):
        got = reports()
    assert all(r["errors"] == [] and r["count"] == 100 for r in got)
    [answer] = {answer for r in got for answer in r["answers"]}
    assert answer.name == "Radiohead" and answer.listeners > 0
    assert fake.requests.total == 1 and fake.requests.of("artist.getInfo") == 1


def test_with_redis_stopped_every_ask_succeeds_and_each_process_asks_last_fm_once(
    own_redis: redis_support.OwnRedis, fake: FakeLastfm
) -> None:
    own_redis.kill()
    with processes(
        workers.ask_through_adapter, own_redis.url, "stopped:", server(fake), 100, 4
    ) as (_, reports):
        got = reports()
    assert all(r["errors"] == [] and r["count"] == 100 for r in got)
    # One answer per process (the cassette holds three recordings of Radiohead).
    assert all(len(r["answers"]) == 1 and r["answers"][0].name == "Radiohead" for r in got)
    # No shared cache: one request per process, the threads of each sharing it.
    assert fake.requests.of("artist.getInfo") == PROCESSES


def test_three_processes_bursting_reach_last_fm_within_ten_percent_of_the_rate(
    redis_url: str, prefix: str, fake: FakeLastfm
) -> None:
    rate, seconds = 20.0, 3.0
    with processes(
        workers.burst_through_adapter, redis_url, prefix, server(fake), rate, seconds, 2
    ) as (began, reports):
        time.sleep(max(0.0, began - time.time()))
        at_start = fake.requests.total
        time.sleep(max(0.0, began + seconds - time.time()))
        at_end = fake.requests.total
        got = reports()
    outcomes = sum((Counter(r["outcomes"]) for r in got), Counter())
    assert set(outcomes) == {"UnknownArtist"}  # last.fm's error 6: asked, answered, not cached
    assert all(r["fell_back"] == 0 for r in got)
    measured = (at_end - at_start) / seconds
    assert abs(measured - rate) <= 0.1 * rate, f"{measured:.1f}/s against {rate}/s"
