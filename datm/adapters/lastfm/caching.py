"""``CachingLastfm``: last.fm answers kept for a while, in this process and shared.

In front of the real port: an in-process TLRU cache (cachetools); a single flight
per key, so concurrent misses in one process share one call and its outcome,
result or error (Go's singleflight); optionally a ``SharedCache`` (Redis,
``datm.adapters.redis.cache``) holding one copy for every process and letting one
process per key call upstream. Each kind of call has its own TTL (``CacheTtls``);
a value from the shared cache keeps its fetch time, so a local copy expires when
the shared one does.

Errors are not cached: the next call asks last.fm again. Caching "unknown artist"
briefly was considered and left out: such lookups are rare, cost one request
each, and a DataError cached by mistake would hide an artist for the whole TTL.
Never cached: the API key and auth URL (no request), auth.getToken and
auth.getSession (single-use), and calls signed with a user's session
(``authenticated_user``).
"""

from __future__ import annotations

import json
import threading
import time
import typing
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cachetools import TLRUCache

from datm.domain.errors import InvalidInput, LastfmUnavailable
from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    LastfmSession,
    SimilarArtist,
    UserProfile,
)
from datm.ports.lastfm import LastfmPort

T = TypeVar("T")
_MISS: Any = object()


@dataclass(frozen=True, slots=True)
class CacheTtls:
    """Seconds each kind of last.fm answer stays fresh."""

    artist: float = 3600.0  # artist.getInfo: listeners and plays move over hours
    correction: float = 86400.0  # a name's correction almost never changes
    similar: float = 86400.0  # last.fm recomputes similarity rarely
    search: float = 600.0  # type-ahead queries repeat within minutes
    chart: float = 3600.0  # global, country and tag charts are weekly-ish
    user: float = 300.0  # profiles and top artists change as the user listens


@dataclass(frozen=True, slots=True)
class Stamped(Generic[T]):
    """A value and when it was fetched from last.fm (seconds on the cache's clock)."""

    value: T
    fetched: float


class SharedCache(Protocol):
    """A cache every process shares (``RedisSharedCache``)."""

    def get_or_create(
        self, key: str, ttl: float, result_type: Any, create: Callable[[], Stamped[T]]
    ) -> Stamped[T]:
        """The fresh value under ``key``, else ``create()``'s, stored for ``ttl``
        seconds; one caller per key across processes runs ``create``. Errors of
        ``create`` propagate unchanged; failures of the cache itself never do (it
        falls back to ``create``)."""


# Passed straight through: no request (api_key, auth_url), single-use (auth), or
# signed with a user's session (authenticated_user: it checks the key is still good);
# ``fresh`` hands out an uncached port (the close reads through it).
NEVER_CACHED = frozenset(
    {"api_key", "auth_url", "get_token", "get_session", "authenticated_user", "fresh"}
)

# The declared return type of each cached port method: the shared cache decodes
# what it reads back into exactly this type and nothing else.
RESULT_TYPES: dict[str, Any] = {
    name: typing.get_type_hints(getattr(LastfmPort, name))["return"]
    for name in (
        "artist_info",
        "correction",
        "similar",
        "search",
        "chart_top_artists",
        "geo_top_artists",
        "tag_top_artists",
        "user_info",
        "user_top_artists",
        "library_artists",
    )
}


class SingleFlight:
    """Concurrent callers of one key share one call and its outcome."""

    def __init__(self, wait_seconds: float) -> None:
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._calls: dict[str, Future[Any]] = {}

    def run(self, key: str, call: Callable[[], T]) -> T:
        with self._lock:
            future = self._calls.get(key)
            leading = future is None
            if future is None:
                future = self._calls[key] = Future()
        if not leading:
            try:
                result: T = future.result(timeout=self._wait)
            except FutureTimeout:
                raise LastfmUnavailable("an identical request is still in flight") from None
            return result
        try:
            outcome = call()
        except BaseException as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(outcome)
            return outcome
        finally:
            with self._lock:
                del self._calls[key]


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    expires: float


class CachingLastfm(LastfmPort):
    """Wraps any ``LastfmPort``; thread-safe. ``clock`` (wall seconds) must agree
    across processes sharing ``shared``; tests inject one for the local layer.
    ``fresh``: what ``fresh()`` hands out, past this cache (the wiring gives the
    upstream under the close's share of the rate); unset, ``inner.fresh()``."""

    def __init__(
        self,
        inner: LastfmPort,
        shared: SharedCache | None = None,
        ttls: CacheTtls | None = None,
        max_entries: int = 10_000,
        wait_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        fresh: LastfmPort | None = None,
    ) -> None:
        if max_entries < 1:
            raise InvalidInput("max_entries", "the in-process cache needs room for one entry")
        self._inner = inner
        self._fresh = fresh
        self._shared = shared
        self._ttls = ttls or CacheTtls()
        self._clock = clock
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        self._local: TLRUCache[str, _Entry] = TLRUCache(
            max_entries, lambda _key, entry, _now: entry.expires, timer=clock
        )
        self._flights = SingleFlight(wait_seconds)

    def fresh(self) -> LastfmPort:
        """An uncached port, for callers that must see last.fm's numbers now."""
        return self._inner.fresh() if self._fresh is None else self._fresh

    # --- the cache --------------------------------------------------------------

    def _cached(self, call: str, ttl: float, args: tuple[object, ...], fetch: Callable[[], T]) -> T:
        key = call + ":" + json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        value = self._local_get(key)
        if value is _MISS:
            value = self._flights.run(key, lambda: self._load(key, call, ttl, fetch))
        # Callers may mutate a list they get; the cached one must stay as it was.
        return typing.cast(T, list(value) if isinstance(value, list) else value)

    def _load(self, key: str, call: str, ttl: float, fetch: Callable[[], T]) -> T:
        # A flight that finished just before this one started has stored its value.
        value = self._local_get(key)
        if value is not _MISS:
            return typing.cast(T, value)

        def create() -> Stamped[T]:
            return Stamped(fetch(), self._clock())

        if self._shared is None:
            stamped = create()
        else:
            stamped = self._shared.get_or_create(key, ttl, RESULT_TYPES[call], create)
        expires = stamped.fetched + ttl
        if expires > self._clock():
            with self._lock:
                self._local[key] = _Entry(stamped.value, expires)
        return stamped.value

    def _local_get(self, key: str) -> Any:
        with self._lock:
            entry = self._local.get(key)
        return _MISS if entry is None else entry.value

    # --- never cached -----------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._inner.api_key

    def auth_url(self, token: str | None = None, callback: str | None = None) -> str:
        return self._inner.auth_url(token, callback)

    def get_token(self) -> str:
        return self._inner.get_token()

    def get_session(self, token: str) -> LastfmSession:
        return self._inner.get_session(token)

    def authenticated_user(self, session_key: str) -> UserProfile:
        return self._inner.authenticated_user(session_key)

    # --- cached, by kind ----------------------------------------------------------

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        # With a username last.fm adds that user's play count: user data, user TTL.
        ttl = self._ttls.artist if username is None else self._ttls.user
        return self._cached(
            "artist_info",
            ttl,
            (name, mbid, username),
            lambda: self._inner.artist_info(name=name, mbid=mbid, username=username),
        )

    def correction(self, name: str) -> ArtistRef | None:
        return self._cached(
            "correction", self._ttls.correction, (name,), lambda: self._inner.correction(name)
        )

    def similar(self, name: str, limit: int) -> list[SimilarArtist]:
        return self._cached(
            "similar", self._ttls.similar, (name, limit), lambda: self._inner.similar(name, limit)
        )

    def search(self, query: str, limit: int, page: int) -> list[ArtistRef]:
        return self._cached(
            "search",
            self._ttls.search,
            (query, limit, page),
            lambda: self._inner.search(query, limit, page),
        )

    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        return self._cached(
            "chart_top_artists",
            self._ttls.chart,
            (limit, page),
            lambda: self._inner.chart_top_artists(limit, page),
        )

    def geo_top_artists(self, country: str, limit: int, page: int) -> list[ArtistRef]:
        return self._cached(
            "geo_top_artists",
            self._ttls.chart,
            (country, limit, page),
            lambda: self._inner.geo_top_artists(country, limit, page),
        )

    def tag_top_artists(self, tag: str, limit: int, page: int) -> list[ArtistRef]:
        return self._cached(
            "tag_top_artists",
            self._ttls.chart,
            (tag, limit, page),
            lambda: self._inner.tag_top_artists(tag, limit, page),
        )

    def user_info(self, user: str) -> UserProfile:
        return self._cached(
            "user_info", self._ttls.user, (user,), lambda: self._inner.user_info(user)
        )

    def user_top_artists(self, user: str, limit: int) -> list[ArtistRef]:
        return self._cached(
            "user_top_artists",
            self._ttls.user,
            (user, limit),
            lambda: self._inner.user_top_artists(user, limit),
        )

    def library_artists(self, user: str, limit: int) -> list[ArtistRef]:
        return self._cached(
            "library_artists",
            self._ttls.user,
            (user, limit),
            lambda: self._inner.library_artists(user, limit),
        )
