"""``CachingLastfm`` over ``RedisSharedCache`` in one process: sharing, TTLs,
poisoned keys, and Redis that refuses, hangs or dies."""

from __future__ import annotations

import json
import pickle
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis
import redis_support
from cache_fakes import CountingLastfm

from datm.adapters.lastfm.caching import CacheTtls, CachingLastfm
from datm.adapters.redis.cache import RedisSharedCache
from datm.adapters.redis.client import RedisHealth, connect
from datm.domain.errors import UnknownArtist

TIMEOUT = 0.1


def build(
    url: str,
    prefix: str,
    ttls: CacheTtls | None = None,
    health: RedisHealth | None = None,
    lock_seconds: float = 30.0,
    delay: float = 0.0,
) -> tuple[CachingLastfm, CountingLastfm, RedisHealth]:
    """One process's cache: a cold local layer over the shared one."""
    health = health or RedisHealth()
    shared = RedisSharedCache(connect(url, TIMEOUT), health, prefix, lock_seconds=lock_seconds)
    upstream = CountingLastfm(delay=delay)
    return CachingLastfm(upstream, shared, ttls=ttls), upstream, health


def value_keys(url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    return [k for k in client.scan_iter(match=f"{prefix}*") if b"lock" not in k]


def test_a_value_one_process_fetched_is_served_to_another_from_redis(
    redis_url: str, prefix: str
) -> None:
    first, first_upstream, _ = build(redis_url, prefix)
    second, second_upstream, _ = build(redis_url, prefix)
    answer = first.artist_info("Cher")
    assert second.artist_info("Cher") == answer
    assert second.search("che", 3, 1) == first.search("che", 3, 1)
    assert first_upstream.calls == {"artist_info": 1}
    assert second_upstream.calls == {"search": 1}


def test_a_shared_value_expires_after_its_ttl(redis_url: str, prefix: str) -> None:
    ttls = CacheTtls(search=0.5)
    first, first_upstream, _ = build(redis_url, prefix, ttls)
    first.search("che", 3, 1)
    time.sleep(0.6)
    second, second_upstream, _ = build(redis_url, prefix, ttls)
    second.search("che", 3, 1)
    assert first_upstream.calls["search"] == second_upstream.calls["search"] == 1


def test_a_local_copy_of_a_shared_value_expires_when_the_shared_one_does(
    redis_url: str, prefix: str
) -> None:
    ttls = CacheTtls(user=1.0)
    first, _, _ = build(redis_url, prefix, ttls)
    first.user_info("alice")
    time.sleep(0.6)
    second, second_upstream, _ = build(redis_url, prefix, ttls)
    second.user_info("alice")  # from Redis, fetched 0.6 s ago
    time.sleep(0.5)
    second.user_info("alice")  # 1.1 s after the fetch: stale here too
    assert second_upstream.calls["user_info"] == 1


def test_an_error_is_not_stored_in_redis(redis_url: str, prefix: str) -> None:
    lastfm, upstream, _ = build(redis_url, prefix)
    upstream.fail["artist_info"] = UnknownArtist("Nobody")
    with pytest.raises(UnknownArtist):
        lastfm.artist_info("Nobody")
    assert value_keys(redis_url, prefix) == []
    other, other_upstream, _ = build(redis_url, prefix)
    assert other.artist_info("Nobody").name == "Nobody"
    assert other_upstream.calls["artist_info"] == 1


class Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pickle ran code",))


# dogpile's envelope is "metadata JSON|payload". A payload datm cannot read is a
# miss dogpile refills at once; an envelope dogpile cannot read is dropped by datm
# and refilled by the next call.
@pytest.mark.parametrize(
    ("poison", "refilled_at_once"),
    [
        (b'{"ct":1e12,"v":2}|' + pickle.dumps(Boom()), True),  # fresh, but a pickle
        (b'{"ct":1e12,"v":2}|{"fetched":1e12,"value":{"name":"x","evil":1}}', True),
        (b'{"ct":1e12,"v":2}|{"fetched":1e12,"value":{"name":"x","listeners":"many"}}', True),
        (b'{"v":2}|{}', True),
        (b"not dogpile at all", False),
        (pickle.dumps(Boom()), False),
    ],
)
def test_a_poisoned_key_is_a_miss_and_is_replaced(
    redis_url: str,
    prefix: str,
    poison: bytes,
    refilled_at_once: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer, _, _ = build(redis_url, prefix)
    answer = writer.artist_info("Cher")
    [key] = value_keys(redis_url, prefix)
    redis.Redis.from_url(redis_url).set(key, poison)

    reader, upstream, health = build(redis_url, prefix)
    assert reader.artist_info("Cher") == answer
    assert upstream.calls["artist_info"] == 1
    assert not health.down  # bad data is not an outage
    assert "pickle ran code" not in capsys.readouterr().out
    third, third_upstream, _ = build(redis_url, prefix)
    assert third.artist_info("Cher") == answer
    assert third_upstream.calls["artist_info"] == (0 if refilled_at_once else 1)
    assert json.loads(redis.Redis.from_url(redis_url).get(key).partition(b"|")[2])["value"]


def test_a_call_outlasting_the_lock_still_answers_and_is_no_outage(
    redis_url: str, prefix: str
) -> None:
    slow, upstream, health = build(redis_url, prefix, lock_seconds=0.1, delay=0.3)
    answer = slow.artist_info("Cher")
    assert not health.down
    other, other_upstream, _ = build(redis_url, prefix)
    assert other.artist_info("Cher") == answer
    assert upstream.calls["artist_info"] == 1 and other_upstream.calls["artist_info"] == 0


class Blackhole:
    """A port that accepts connections and never answers: a hung Redis."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self.held.append(connection)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.listener.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def test_a_hung_redis_costs_one_timeout_per_back_off_not_one_per_call(
    blackhole: Blackhole,
) -> None:
    url = f"redis://127.0.0.1:{blackhole.port}/0"
    lastfm, upstream, health = build(url, "p:", health=RedisHealth(first_backoff=30.0))
    answers = [lastfm.artist_info(f"artist {i}") for i in range(30)]
    answers += [lastfm.artist_info(f"artist {i}") for i in range(30)]
    assert [a.name for a in answers] == [f"artist {i}" for i in range(30)] * 2
    assert upstream.calls["artist_info"] == 30  # the local layer still serves hits
    assert blackhole.accepted == 1 and health.down


def test_a_refused_connection_falls_back_at_once() -> None:
    url = f"redis://127.0.0.1:{redis_support.free_port()}/0"
    lastfm, upstream, health = build(url, "p:")
    assert lastfm.similar("Cher", 2) == lastfm.similar("Cher", 2)
    assert upstream.calls["similar"] == 1 and health.down


def test_the_shared_cache_is_used_again_once_redis_is_back(
    own_redis: redis_support.OwnRedis,
) -> None:
    health = RedisHealth(first_backoff=0.2)
    lastfm, upstream, _ = build(own_redis.url, "p:", health=health)
    lastfm.user_info("before")
    own_redis.kill()
    assert lastfm.user_info("during").name == "during"
    assert health.down
    own_redis.start()
    time.sleep(0.3)
    lastfm.user_info("after")
    assert not health.down
    other, other_upstream, _ = build(own_redis.url, "p:")
    other.user_info("after")
    assert other_upstream.calls["user_info"] == 0
    assert upstream.calls["user_info"] == 3
