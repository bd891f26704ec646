"""The real last.fm: pylast behind the shared rate limit, then the cache, and the
close's copy past the cache within its share of the rate; in a module of its own
so that programs on the offline catalogue never import pylast."""

from __future__ import annotations

from injector import Module, provider, singleton

from datm.adapters.lastfm.caching import CacheTtls, CachingLastfm, SharedCache
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.ratelimit.combined import AllOf
from datm.adapters.ratelimit.window import InProcessRateLimiter
from datm.lifecycle import Resources
from datm.ports.lastfm import LastfmPort
from datm.ports.rate_limit import RateLimiter
from datm.settings import Settings

SLACK_SECONDS = 15.0
# The slowest rate a limiter counts (rate_item: a minute's worth at most). A share
# of a rate already that slow is held to it; the shared limit still holds the total.
SLOWEST_RATE_PER_SECOND = 1 / 60


class LastfmModule(Module):
    """last.fm through pylast (``lastfm_*`` settings). With ``redis_url`` every
    process shares one rate limit and one cache; without it, each has its own.
    ``fresh()`` is the same client past the cache, each request admitted by the
    close's limit (``close_lastfm_share`` of the rate, one for every close process
    with Redis) and then by the shared one. The HTTP connections and the Redis pool
    are closed by ``datm.close``."""

    @singleton
    @provider
    def lastfm(self, settings: Settings, resources: Resources) -> LastfmPort:
        resources.check_open()
        rate = settings.lastfm_rate_per_second
        close_rate = max(rate * settings.close_lastfm_share, SLOWEST_RATE_PER_SECOND)
        limiter: RateLimiter = InProcessRateLimiter(rate)
        close_limiter: RateLimiter = InProcessRateLimiter(close_rate, name="lastfm:close")
        shared: SharedCache | None = None
        # The longest a last.fm call can take, retries included: a shared cache's
        # lock must outlast it, or a second process calls last.fm for the same key.
        budget = settings.lastfm_timeout_seconds * (settings.lastfm_retries + 1) + SLACK_SECONDS
        if settings.redis_url:
            from datm.adapters.redis.cache import RedisSharedCache
            from datm.adapters.redis.client import RedisHealth, address_of, close, connect
            from datm.adapters.redis.rate_limit import RedisRateLimiter

            client = connect(settings.redis_url, settings.redis_timeout_seconds)
            health = RedisHealth(address=address_of(client))
            resources.add("the Redis connection pool", lambda: close(client, health))
            name = f"lastfm:{settings.lastfm_api_key}"  # the public key: one limit per key
            limiter = RedisRateLimiter(client, health, rate, limiter, name=name)
            close_limiter = RedisRateLimiter(
                client, health, close_rate, close_limiter, name=f"{name}:close"
            )
            shared = RedisSharedCache(client, health, lock_seconds=budget)
        ttls = CacheTtls(
            artist=settings.lastfm_cache_artist_seconds,
            correction=settings.lastfm_cache_correction_seconds,
            similar=settings.lastfm_cache_similar_seconds,
            search=settings.lastfm_cache_search_seconds,
            chart=settings.lastfm_cache_chart_seconds,
            user=settings.lastfm_cache_user_seconds,
        )
        upstream = PylastLastfm.from_settings(settings, limiter)
        # Added after Redis, so closed first: no request is left to need the limit.
        # The close's copy shares these connections: this closes it too.
        resources.add("the last.fm HTTP connections", upstream.close)
        # The close's limit first: its requests past its share never queue at the
        # shared limit, where the api's wait.
        fresh = upstream.with_rate_limiter(AllOf(close_limiter, limiter))
        return CachingLastfm(
            upstream,
            shared,
            ttls=ttls,
            max_entries=settings.lastfm_cache_max_entries,
            wait_seconds=budget,
            fresh=fresh,
        )
