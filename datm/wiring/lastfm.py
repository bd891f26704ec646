"""The real last.fm: pylast behind the shared rate limit, then the cache, and the
close's copy past the cache within its share of the rate; in a module of its own
so that programs on the offline catalogue never import pylast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from injector import Module, provider, singleton

from datm.adapters.lastfm.caching import CacheTtls, CachingLastfm, SharedCache
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.ratelimit.combined import AllOf
from datm.adapters.ratelimit.window import InProcessRateLimiter
from datm.lifecycle import Resources
from datm.ports.lastfm import LastfmPort
from datm.ports.rate_limit import RateLimiter
from datm.settings import Settings

if TYPE_CHECKING:
    import redis

    from datm.adapters.redis.client import RedisHealth

SLACK_SECONDS = 15.0
# The slowest rate a limiter counts (rate_item: a minute's worth at most). A share
# of a rate already that slow is held to it; the shared limit still holds the total.
SLOWEST_RATE_PER_SECOND = 1 / 60


@dataclass(frozen=True)
class Limiters:
    """The last.fm rate limits of one process: ``shared`` admits every request,
    ``close`` the close's, before ``shared`` (``fresh``)."""

    shared: RateLimiter
    close: RateLimiter

    @property
    def fresh(self) -> RateLimiter:
        # The close's limit first: its requests past its share never queue at the
        # shared limit, where the api's wait.
        return AllOf(self.close, self.shared)


def lastfm_limiters(
    settings: Settings, client: redis.Redis | None = None, health: RedisHealth | None = None
) -> Limiters:
    """The limits ``LastfmModule`` builds. Without a Redis ``client`` each process
    is held to the rate on its own; with one, every process sharing it is, and
    while Redis is down each falls back to ``lastfm_fallback_share`` of each limit
    (``datm.adapters.redis.rate_limit`` argues the default)."""
    rate = settings.lastfm_rate_per_second
    close_rate = max(rate * settings.close_lastfm_share, SLOWEST_RATE_PER_SECOND)
    if client is None or health is None:
        return Limiters(
            InProcessRateLimiter(rate), InProcessRateLimiter(close_rate, name="lastfm:close")
        )
    from datm.adapters.redis.rate_limit import RedisRateLimiter

    def fallback(of: float, name: str) -> InProcessRateLimiter:
        # Held to the share however slow: never more than the share, burst of one.
        share = of * settings.lastfm_fallback_share
        return InProcessRateLimiter(share, name=name, slower_than_a_minute=True)

    name = f"lastfm:{settings.lastfm_api_key}"  # the public key: one limit per key
    return Limiters(
        shared=RedisRateLimiter(client, health, rate, fallback(rate, "lastfm"), name=name),
        close=RedisRateLimiter(
            client,
            health,
            close_rate,
            fallback(close_rate, "lastfm:close"),
            name=f"{name}:close",
        ),
    )


class LastfmModule(Module):
    """last.fm through pylast (``lastfm_*`` settings). With ``redis_url`` every
    process shares one rate limit and one cache; without it, each has its own.
    ``fresh()`` is the same client past the cache, each request admitted by the
    close's limit (``close_lastfm_share`` of the rate, one for every close process
    with Redis) and then by the shared one; while Redis is down each process holds
    itself to ``lastfm_fallback_share`` of each (``lastfm_limiters``). The HTTP
    connections and the Redis pool are closed by ``datm.close``."""

    @singleton
    @provider
    def lastfm(self, settings: Settings, resources: Resources) -> LastfmPort:
        resources.check_open()
        shared: SharedCache | None = None
        # The longest a last.fm call can take, retries included: a shared cache's
        # lock must outlast it, or a second process calls last.fm for the same key.
        budget = settings.lastfm_timeout_seconds * (settings.lastfm_retries + 1) + SLACK_SECONDS
        if settings.redis_url:
            from datm.adapters.redis.cache import RedisSharedCache
            from datm.adapters.redis.client import RedisHealth, address_of, close, connect

            client = connect(settings.redis_url, settings.redis_timeout_seconds)
            health = RedisHealth(address=address_of(client))
            resources.add("the Redis connection pool", lambda: close(client, health))
            limiters = lastfm_limiters(settings, client, health)
            shared = RedisSharedCache(client, health, lock_seconds=budget)
        else:
            limiters = lastfm_limiters(settings)
        ttls = CacheTtls(
            artist=settings.lastfm_cache_artist_seconds,
            correction=settings.lastfm_cache_correction_seconds,
            similar=settings.lastfm_cache_similar_seconds,
            search=settings.lastfm_cache_search_seconds,
            chart=settings.lastfm_cache_chart_seconds,
            user=settings.lastfm_cache_user_seconds,
        )
        upstream = PylastLastfm.from_settings(settings, limiters.shared)
        # Added after Redis, so closed first: no request is left to need the limit.
        # The close's copy shares these connections: this closes it too.
        resources.add("the last.fm HTTP connections", upstream.close)
        fresh = upstream.with_rate_limiter(limiters.fresh)
        return CachingLastfm(
            upstream,
            shared,
            ttls=ttls,
            max_entries=settings.lastfm_cache_max_entries,
            wait_seconds=budget,
            fresh=fresh,
        )
