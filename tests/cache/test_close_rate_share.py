"""The close's share of the last.fm rate (issue 13): ``LastfmPort.fresh()`` as the
wiring builds it, with last.fm's HTTP end replaced by ``FakeHttp``, which answers
every request with a recorded artist.getInfo and notes when each came (no network):

- the close alone is held to CLOSE_LASTFM_SHARE x LASTFM_RATE_PER_SECOND;
- close threads and api calls together stay within the rate, and the api still
  gets through while the close takes all of its share;
- two close processes (two injectors: two limiters, two Redis clients) sharing
  Redis share one close limit, under a Redis key of its own;
- ``fresh()`` neither reads nor writes the cache, in the process or in Redis.

Counts are asserted per window of time, never how fast datm is: "at most N in any
one-second window" is what a rate limit promises. Times are noted just after the
admission, so a request may look a little late: a slack of ``SLACK``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import httpx2 as httpx
import pytest
import redis
import redis_support
import yaml
from injector import Injector

import datm
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.lastfm.transport import _Connections
from datm.adapters.ratelimit.combined import AllOf
from datm.domain.errors import LastfmUnavailable, ProgrammingError
from datm.ports.lastfm import LastfmPort
from datm.ports.rate_limit import RateLimiter
from datm.wiring import create_injector

RECORDING = Path(__file__).parents[1] / "data/lastfm-recordings/artist.getInfo-test_artist.yaml"
RATE = 20.0  # LASTFM_RATE_PER_SECOND
SHARE = 0.25  # CLOSE_LASTFM_SHARE: the close gets 5 a second, the api the other 15
CLOSE_RATE = RATE * SHARE
SECONDS = 3.0  # each measurement window
SLACK = 2
JOIN_SECONDS = 30.0


def _artist_document() -> bytes:
    cassette = yaml.safe_load(RECORDING.read_text(encoding="utf-8"))
    return str(cassette["interactions"][0]["response"]["body"]["string"]).encode()


ARTIST = _artist_document()


class FakeHttp(httpx.BaseTransport):
    """last.fm's end of every pooled connection. Notes each request's time and whose
    it is: in these tests the close asks by MBID (as the close service does), the
    api by name."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.read().decode()))
        who = "close" if "mbid" in params else "api"
        with self._lock:
            self.requests.append((time.monotonic(), who))
        return httpx.Response(200, content=ARTIST, headers={"Content-Type": "text/xml"})

    def times(self, who: str | None = None, since: float = 0.0) -> list[float]:
        with self._lock:
            return sorted(t for t, w in self.requests if t >= since and who in (None, w))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHttp:
    http = FakeHttp()
    monkeypatch.setattr(_Connections, "open", lambda _self: http)
    return http


class Wirings:
    """Builds web wirings on real last.fm settings, under a key of this test's own
    (so its Redis keys are its own); ``close`` releases them and deletes the keys."""

    def __init__(self) -> None:
        self.key = f"close-share-{uuid.uuid4().hex[:12]}"
        self._built: list[Injector] = []
        self._redis_urls: set[str] = set()

    def port(self, **settings: object) -> LastfmPort:
        config = {
            "LASTFM_API_KEY": self.key,
            "LASTFM_API_SECRET": "close-share-secret",
            "LASTFM_RATE_PER_SECOND": RATE,
            "CLOSE_LASTFM_SHARE": SHARE,
            "LASTFM_RETRIES": 0,  # one call, one request: the counts are exact
            **settings,
        }
        if settings.get("REDIS_URL"):
            self._redis_urls.add(str(settings["REDIS_URL"]))
        injector = create_injector(config, wiring="web", environ={})
        self._built.append(injector)
        return injector.get(LastfmPort)  # type: ignore[type-abstract]

    def close(self) -> None:
        for injector in self._built:
            datm.close(injector)
        for url in self._redis_urls:
            redis_support.delete_keys(url, f"*{self.key}*")


@pytest.fixture
def wirings() -> Iterator[Wirings]:
    built = Wirings()
    yield built
    built.close()


def peak(times: list[float], window: float = 1.0) -> int:
    """The most requests in any ``window`` seconds."""
    return max(
        (sum(1 for t in times[i:] if t < at + window) for i, at in enumerate(times)), default=0
    )


def hammer(calls: dict[str, tuple[int, Callable[[str], object]]], seconds: float) -> float:
    """Run each ``call(tag)`` from its number of threads, as fast as admitted, for
    ``seconds``; return when they began. Every call must succeed."""
    errors: list[BaseException] = []
    began = time.monotonic()

    def work(call: Callable[[str], object], thread: str) -> None:
        for i in range(1_000_000):
            if time.monotonic() >= began + seconds:
                return
            try:
                call(f"{thread}.{i}")
            except Exception as error:
                errors.append(error)
                return

    threads = [
        threading.Thread(target=work, args=(call, f"{name}{n}"))
        for name, (count, call) in calls.items()
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return began


def in_window(times: list[float], began: float) -> list[float]:
    return [t for t in times if began <= t < began + SECONDS]


# --- the pieces -----------------------------------------------------------------------


class Recording(RateLimiter):
    def __init__(self, name: str, log: list[str], refuse: bool = False) -> None:
        self.name, self.log, self.refuse = name, log, refuse

    def acquire(self) -> None:
        self.log.append(self.name)
        if self.refuse:
            raise LastfmUnavailable("rate limit: no request slot")


def test_all_of_asks_the_first_limit_then_the_second_and_stops_at_a_refusal() -> None:
    log: list[str] = []
    AllOf(Recording("close", log), Recording("shared", log)).acquire()
    assert log == ["close", "shared"]

    log.clear()
    with pytest.raises(LastfmUnavailable):
        AllOf(Recording("close", log, refuse=True), Recording("shared", log)).acquire()
    assert log == ["close"]  # a request over the close's share never queues for the shared


def test_a_copy_under_another_limit_uses_only_that_limit_and_the_same_connections(
    fake: FakeHttp,
) -> None:
    log: list[str] = []
    original = PylastLastfm("key", "secret", retries=0, rate_limiter=Recording("api", log))
    copy = original.with_rate_limiter(Recording("close", log))

    copy.artist_info(mbid="some-mbid")
    original.artist_info(name="Test Artist")

    assert log == ["close", "api"] and len(fake.requests) == 2
    original.close()  # closes the one pool both use
    with pytest.raises(ProgrammingError):
        copy.artist_info(mbid="some-mbid")


def test_a_share_of_the_slowest_rate_still_builds_and_the_close_still_reads(
    fake: FakeHttp, wirings: Wirings
) -> None:
    # 1/60 x 0.01 is less than a limiter counts: held to one a minute, not refused.
    port = wirings.port(LASTFM_RATE_PER_SECOND=1 / 60, CLOSE_LASTFM_SHARE=0.01)

    assert port.fresh().artist_info(mbid="slow").name == "Test Artist"


# --- the rates, in one process ------------------------------------------------------


def test_the_close_alone_is_held_to_its_share_of_the_rate(fake: FakeHttp, wirings: Wirings) -> None:
    fresh = wirings.port().fresh()

    began = hammer({"close": (8, lambda tag: fresh.artist_info(mbid=tag))}, SECONDS)

    close = in_window(fake.times("close"), began)
    assert peak(close) <= CLOSE_RATE + SLACK, f"{peak(close)} in one second"
    assert len(close) <= CLOSE_RATE * SECONDS + SLACK
    # Far under the full rate though eight threads asked: the share held them.
    assert len(close) >= CLOSE_RATE * SECONDS / 2


def test_close_and_api_together_stay_within_the_rate_and_the_api_gets_through(
    fake: FakeHttp, wirings: Wirings
) -> None:
    port = wirings.port()
    fresh = port.fresh()

    began = hammer(
        {
            "close": (8, lambda tag: fresh.artist_info(mbid=tag)),
            "api": (4, lambda tag: port.artist_info(name=f"api {tag}")),  # a miss each
        },
        SECONDS,
    )

    everything = in_window(fake.times(), began)
    close = in_window(fake.times("close"), began)
    api = in_window(fake.times("api"), began)
    assert peak(everything) <= RATE + SLACK, f"{peak(everything)} in one second"
    # The close's limit admits its share per second; an admitted request may then
    # wait at the shared limit and go out with the next second's (AllOf), so its
    # share is counted over two seconds (seen: eight sent within one second).
    assert peak(close, 2.0) <= 2 * CLOSE_RATE + SLACK, f"{peak(close, 2.0)} close in 2 s"
    # Both got through: the api is not starved by a close taking all its share.
    assert len(api) >= (RATE - CLOSE_RATE) * SECONDS / 4, f"api: {len(api)}"
    assert len(close) >= CLOSE_RATE * SECONDS / 4, f"close: {len(close)}"


# --- the rates across processes sharing Redis -----------------------------------------


def test_two_close_processes_sharing_redis_share_one_close_limit_and_the_rate(
    fake: FakeHttp, wirings: Wirings, redis_url: str
) -> None:
    # Each injector has its own Redis client and limiters, as each process has.
    first, second, api = (wirings.port(REDIS_URL=redis_url) for _ in range(3))
    one, other = first.fresh(), second.fresh()
    key = wirings.key

    began = hammer(
        {
            "one": (4, lambda tag: one.artist_info(mbid=f"one {tag}")),
            "other": (4, lambda tag: other.artist_info(mbid=f"other {tag}")),
            "api": (4, lambda tag: api.artist_info(name=f"{key} api {tag}")),
        },
        SECONDS,
    )

    everything = in_window(fake.times(), began)
    close = in_window(fake.times("close"), began)
    api_requests = in_window(fake.times("api"), began)
    # Each process falling back to a limit of its own would show as twice the share.
    # Counted over two seconds: a request the close's limit admitted may still wait
    # at the shared limit, or for a core (twelve threads on two), and go out with the
    # next second's (seen in CI: eight noted within one second). The shared limit
    # holds the total to the rate whatever the bunching; see the next asserts.
    assert peak(close, 2.0) <= 2 * CLOSE_RATE + SLACK, f"{peak(close, 2.0)} close in 2 s"
    assert len(close) <= CLOSE_RATE * SECONDS + SLACK
    assert peak(everything) <= RATE + SLACK, f"{peak(everything)} in one second"
    assert len(api_requests) >= (RATE - CLOSE_RATE) * SECONDS / 4, f"api: {len(api_requests)}"

    # The close's window is a Redis key of its own, beside the shared one.
    one.artist_info(mbid="one more")
    client = redis.Redis.from_url(redis_url)
    try:
        names = {k.decode() for k in client.scan_iter(match=f"*{key}*", count=1000)}
    finally:
        client.close()
    assert any(f"lastfm:{key}:close/" in name for name in names), names
    assert any(f"lastfm:{key}/" in name for name in names), names


# --- past every cache -----------------------------------------------------------------


def _fresh_neither_reads_nor_writes(fake: FakeHttp, port: LastfmPort, other: LastfmPort) -> None:
    """``other`` is another process sharing ``port``'s Redis, or ``port`` itself."""
    mbid, unseen = f"cached-{uuid.uuid4().hex}", f"unseen-{uuid.uuid4().hex}"
    port.artist_info(mbid=mbid)
    other.artist_info(mbid=mbid)
    assert len(fake.requests) == 1  # cached: the shared or the local copy

    port.fresh().artist_info(mbid=mbid)
    other.fresh().artist_info(mbid=mbid)
    assert len(fake.requests) == 3  # fresh() read no cache

    port.fresh().artist_info(mbid=unseen)
    assert len(fake.requests) == 4
    port.artist_info(mbid=unseen)
    other.artist_info(mbid=unseen)
    assert len(fake.requests) == 5  # fresh() wrote no cache: the first cached read asked


def test_fresh_neither_reads_nor_writes_the_in_process_cache(
    fake: FakeHttp, wirings: Wirings
) -> None:
    port = wirings.port()

    _fresh_neither_reads_nor_writes(fake, port, port)


def test_fresh_neither_reads_nor_writes_the_shared_cache(
    fake: FakeHttp, wirings: Wirings, redis_url: str
) -> None:
    port, other = (wirings.port(REDIS_URL=redis_url) for _ in range(2))
    fresh_only = f"fresh-only-{uuid.uuid4().hex}"

    _fresh_neither_reads_nor_writes(fake, port, other)

    port.fresh().artist_info(mbid=fresh_only)
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"*{fresh_only}*")) == []
    finally:
        client.close()
