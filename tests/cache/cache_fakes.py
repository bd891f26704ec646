"""A last.fm port that counts what reaches it, for the cache and rate-limit tests.

Every answer is built from the call's arguments, so two calls with the same
arguments get equal values and a wrong cache key shows as a wrong value.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    Image,
    LastfmSession,
    SimilarArtist,
    UserProfile,
)
from datm.ports.lastfm import LastfmPort
from datm.ports.rate_limit import RateLimiter


class CountingLastfm(LastfmPort):
    """Counts calls per method (``calls``); ``fail[method]`` is raised instead of
    answering; ``delay`` seconds pass in each call, so concurrent misses overlap.
    ``limiter`` is acquired and ``on_call`` told before each call, as the real
    adapter acquires the rate limit before each request."""

    def __init__(
        self,
        delay: float = 0.0,
        limiter: RateLimiter | None = None,
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self.delay = delay
        self.limiter = limiter
        self.on_call = on_call
        self.fail: dict[str, Exception] = {}
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _call(self, method: str) -> None:
        if self.limiter is not None:
            self.limiter.acquire()
        if self.on_call is not None:
            self.on_call(method)
        with self._lock:
            self.calls[method] += 1
        if self.delay:
            time.sleep(self.delay)
        if method in self.fail:
            raise self.fail[method]

    @property
    def api_key(self) -> str:
        self._call("api_key")
        return "counting-key"

    def auth_url(self, token: str | None = None, callback: str | None = None) -> str:
        self._call("auth_url")
        return f"https://fake/auth?token={token}&cb={callback}"

    def get_token(self) -> str:
        self._call("get_token")
        return f"token-{self.calls['get_token']}"

    def get_session(self, token: str) -> LastfmSession:
        self._call("get_session")
        return LastfmSession(user="alice", key=f"sk-{token}")

    def authenticated_user(self, session_key: str) -> UserProfile:
        self._call("authenticated_user")
        return UserProfile(name=f"owner of {session_key}")

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        self._call("artist_info")
        label = name or mbid or "?"
        return ArtistInfo(
            name=label,
            mbid=mbid or f"mbid-{label}",
            listeners=len(label) * 1000,
            playcount=len(label) * 9000 + (7 if username else 0),
            url=f"https://www.last.fm/music/{label}",
            images=(Image("small", f"https://img/{label}.png"),),
            tags=("rock", "ünïcödé"),
            similar=(ArtistRef(f"like {label}", ""),),
            bio_summary=f"About {label}",
            streamable=True,
        )

    def correction(self, name: str) -> ArtistRef | None:
        self._call("correction")
        return None if name == "nobody" else ArtistRef(name.title(), f"mbid-{name}")

    def similar(self, name: str, limit: int) -> list[SimilarArtist]:
        self._call("similar")
        return [SimilarArtist(f"{name} {i}", "", 1 / (i + 1)) for i in range(limit)]

    def search(self, query: str, limit: int, page: int) -> list[ArtistRef]:
        self._call("search")
        return [ArtistRef(f"{query}{page}.{i}", "") for i in range(limit)]

    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        self._call("chart_top_artists")
        return [ChartArtist(f"top{page}.{i}", f"m{i}", 100 - i, 1000 - i) for i in range(limit)]

    def geo_top_artists(self, country: str, limit: int, page: int) -> list[ArtistRef]:
        self._call("geo_top_artists")
        return [ArtistRef(f"{country}{page}.{i}", "") for i in range(limit)]

    def tag_top_artists(self, tag: str, limit: int, page: int) -> list[ArtistRef]:
        self._call("tag_top_artists")
        return [ArtistRef(f"{tag}{page}.{i}", "") for i in range(limit)]

    def user_info(self, user: str) -> UserProfile:
        self._call("user_info")
        return UserProfile(name=user, playcount=len(user))

    def user_top_artists(self, user: str, limit: int) -> list[ArtistRef]:
        self._call("user_top_artists")
        return [ArtistRef(f"{user} top {i}", "") for i in range(limit)]

    def library_artists(self, user: str, limit: int) -> list[ArtistRef]:
        self._call("library_artists")
        return [ArtistRef(f"{user} lib {i}", "") for i in range(limit)]


class FakeClock:
    """Seconds that move only when told (for the in-process cache's TTLs)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
