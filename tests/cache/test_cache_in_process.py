"""``CachingLastfm`` without Redis: the in-process TLRU cache and the single flight."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from cache_fakes import CountingLastfm, FakeClock

from datm.adapters.lastfm.caching import (
    NEVER_CACHED,
    RESULT_TYPES,
    CacheTtls,
    CachingLastfm,
    SingleFlight,
)
from datm.domain.errors import InvalidInput, LastfmUnavailable, ServiceError, UnknownArtist
from datm.ports.lastfm import LastfmPort

THREADS = 16
JOIN_SECONDS = 10.0


def cached(
    upstream: CountingLastfm | None = None, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[CachingLastfm, CountingLastfm, FakeClock]:
    upstream = upstream or CountingLastfm()
    clock = clock or FakeClock()
    return CachingLastfm(upstream, clock=clock, **kwargs), upstream, clock


def run_together(
    count: int, call: Callable[[], object]
) -> tuple[list[object], list[BaseException]]:
    """``count`` threads released at once by a barrier, each calling ``call``."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait(timeout=JOIN_SECONDS)
        try:
            outcome = call()
        except BaseException as error:
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_every_port_method_is_either_cached_or_deliberately_passed_through() -> None:
    methods = {name for name in dir(LastfmPort) if not name.startswith("_")}
    assert set(RESULT_TYPES) | NEVER_CACHED == methods
    assert not set(RESULT_TYPES) & NEVER_CACHED


def test_sixteen_concurrent_misses_on_one_key_make_one_upstream_call() -> None:
    upstream = CountingLastfm(delay=0.2)
    lastfm, _, _ = cached(upstream)
    results, errors = run_together(THREADS, lambda: lastfm.artist_info("Cher"))
    assert errors == []
    assert upstream.calls["artist_info"] == 1
    assert len(results) == THREADS and all(r == results[0] for r in results)


def test_concurrent_misses_on_different_keys_do_not_wait_for_each_other() -> None:
    upstream = CountingLastfm(delay=0.1)
    lastfm, _, _ = cached(upstream)
    names = iter(range(THREADS))
    lock = threading.Lock()

    def one() -> object:
        with lock:
            name = f"artist {next(names)}"
        return lastfm.artist_info(name)

    results, errors = run_together(THREADS, one)
    assert errors == [] and len(set(results)) == THREADS
    assert upstream.calls["artist_info"] == THREADS


def test_a_hit_within_the_ttl_makes_no_call_and_a_miss_after_it_does() -> None:
    lastfm, upstream, clock = cached(ttls=CacheTtls(artist=100.0))
    first = lastfm.artist_info("Cher")
    clock.advance(99.0)
    assert lastfm.artist_info("Cher") == first
    assert upstream.calls["artist_info"] == 1
    clock.advance(1.0)
    assert lastfm.artist_info("Cher") == first
    assert upstream.calls["artist_info"] == 2


def test_each_kind_of_call_expires_after_its_own_ttl() -> None:
    ttls = CacheTtls(artist=50, correction=60, similar=70, search=10, chart=20, user=30)
    lastfm, upstream, clock = cached(ttls=ttls)
    calls: dict[str, tuple[float, Callable[[], object]]] = {
        "artist_info": (ttls.artist, lambda: lastfm.artist_info(mbid="m-1")),
        "correction": (ttls.correction, lambda: lastfm.correction("cher")),
        "similar": (ttls.similar, lambda: lastfm.similar("Cher", 3)),
        "search": (ttls.search, lambda: lastfm.search("che", 5, 1)),
        "chart_top_artists": (ttls.chart, lambda: lastfm.chart_top_artists(5, 1)),
        "geo_top_artists": (ttls.chart, lambda: lastfm.geo_top_artists("France", 5, 1)),
        "tag_top_artists": (ttls.chart, lambda: lastfm.tag_top_artists("rock", 5, 1)),
        "user_info": (ttls.user, lambda: lastfm.user_info("alice")),
        "user_top_artists": (ttls.user, lambda: lastfm.user_top_artists("alice", 5)),
        "library_artists": (ttls.user, lambda: lastfm.library_artists("alice", 5)),
    }
    assert set(calls) == set(RESULT_TYPES)
    start = clock.now
    for _, call in calls.values():
        call()
    for elapsed in range(1, 71):
        clock.now = start + elapsed
        for method, (ttl, call) in calls.items():
            call()
            # One call at the start, and one each time a TTL has passed since the last.
            assert upstream.calls[method] == 1 + elapsed // int(ttl), (method, elapsed)


def test_artist_info_for_a_user_lives_only_as_long_as_user_data() -> None:
    lastfm, upstream, clock = cached(ttls=CacheTtls(artist=3600, user=300))
    mine = lastfm.artist_info("Cher", username="alice")
    anyone = lastfm.artist_info("Cher")
    assert mine != anyone  # the user's play count is part of the answer
    clock.advance(300)
    lastfm.artist_info("Cher", username="alice")
    lastfm.artist_info("Cher")
    assert upstream.calls["artist_info"] == 3


def test_arguments_are_part_of_the_key() -> None:
    lastfm, upstream, _ = cached()
    assert lastfm.search("che", 5, 1) != lastfm.search("che", 5, 2)
    assert lastfm.artist_info(name="x") != lastfm.artist_info(mbid="x")
    assert lastfm.similar("Cher", 3) != lastfm.similar("Cher", 4)
    assert sum(upstream.calls.values()) == 6


def test_errors_are_not_cached() -> None:
    lastfm, upstream, _ = cached()
    upstream.fail["artist_info"] = UnknownArtist("Nobody")
    with pytest.raises(UnknownArtist):
        lastfm.artist_info("Nobody")
    with pytest.raises(UnknownArtist):
        lastfm.artist_info("Nobody")
    assert upstream.calls["artist_info"] == 2
    del upstream.fail["artist_info"]
    assert lastfm.artist_info("Nobody").name == "Nobody"
    assert upstream.calls["artist_info"] == 3


def test_concurrent_misses_share_the_one_calls_error() -> None:
    upstream = CountingLastfm(delay=0.2)
    upstream.fail["similar"] = LastfmUnavailable("down")
    lastfm, _, _ = cached(upstream)
    results, errors = run_together(THREADS, lambda: lastfm.similar("Cher", 3))
    assert results == []
    assert len(errors) == THREADS and all(isinstance(e, LastfmUnavailable) for e in errors)
    assert upstream.calls["similar"] == 1


def test_none_is_a_cached_answer() -> None:
    lastfm, upstream, _ = cached()
    assert lastfm.correction("nobody") is None
    assert lastfm.correction("nobody") is None
    assert upstream.calls["correction"] == 1


def test_auth_and_session_signed_calls_pass_through_every_time() -> None:
    lastfm, upstream, _ = cached()
    for _ in range(3):
        assert lastfm.api_key == "counting-key"
        assert lastfm.auth_url("t", None) == "https://fake/auth?token=t&cb=None"
        lastfm.get_token()
        assert lastfm.get_session("t").user == "alice"
        assert lastfm.authenticated_user("sk").name == "owner of sk"
    assert upstream.calls == {
        "api_key": 3,
        "auth_url": 3,
        "get_token": 3,
        "get_session": 3,
        "authenticated_user": 3,
    }


def test_auth_errors_reach_the_caller_unchanged() -> None:
    lastfm, upstream, _ = cached()
    refused = ServiceError("invalid API key")
    upstream.fail["get_token"] = refused
    with pytest.raises(ServiceError) as raised:
        lastfm.get_token()
    assert raised.value is refused


def test_a_caller_changing_a_returned_list_does_not_change_the_cache() -> None:
    lastfm, _, _ = cached()
    first = lastfm.search("che", 3, 1)
    first.clear()
    assert len(lastfm.search("che", 3, 1)) == 3


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    lastfm, upstream, _ = cached(max_entries=2)
    lastfm.user_info("a")
    lastfm.user_info("b")
    lastfm.user_info("a")
    lastfm.user_info("c")  # evicts b
    lastfm.user_info("a")
    assert upstream.calls["user_info"] == 3
    lastfm.user_info("b")
    assert upstream.calls["user_info"] == 4


def test_an_in_process_cache_without_room_is_refused() -> None:
    with pytest.raises(InvalidInput):
        CachingLastfm(CountingLastfm(), max_entries=0)


def test_fresh_is_the_uncached_port() -> None:
    lastfm, upstream, _ = cached()
    lastfm.fresh().user_info("a")
    lastfm.fresh().user_info("a")
    assert upstream.calls["user_info"] == 2


def test_a_waiter_gives_up_after_its_bounded_wait_with_a_transient_error() -> None:
    flight = SingleFlight(wait_seconds=0.1)
    release = threading.Event()
    started = threading.Event()

    def slow() -> int:
        started.set()
        release.wait(JOIN_SECONDS)
        return 1

    leader = threading.Thread(target=flight.run, args=("k", slow))
    leader.start()
    assert started.wait(JOIN_SECONDS)
    with pytest.raises(LastfmUnavailable):
        flight.run("k", lambda: 2)
    release.set()
    leader.join(JOIN_SECONDS)
    assert flight.run("k", lambda: 3) == 3  # the finished flight left nothing behind
