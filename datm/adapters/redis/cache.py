"""``RedisSharedCache``: one copy of each last.fm answer for every datm process.

dogpile.cache does the work: its Redis backend stores the values and its
distributed lock (a Redis lock per key) makes one process per key call last.fm
while the others wait for the value, or get the previous one while it is
refreshed. datm adds a safe serialisation (``codec``, never pickle) and the
fallback: when Redis fails the call goes straight to last.fm, Redis is left
alone for a back-off (``RedisHealth``), and the caller never sees the failure.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
from dogpile.cache import CacheRegion, make_region, register_backend
from dogpile.cache.api import CantDeserializeException
from dogpile.cache.backends.redis import RedisBackend
from redis.exceptions import LockError

from datm.adapters.lastfm.caching import Stamped
from datm.adapters.redis import codec
from datm.adapters.redis.client import REDIS_FAILURES, RedisHealth

log = logging.getLogger(__name__)

T = TypeVar("T")

# A poisoned key could hold anything Redis can; a real answer is a few kB.
MAX_DOCUMENT_BYTES = 1 << 20


class SetExRedisBackend(RedisBackend):
    """dogpile's Redis backend writing with ``SET key value EX ttl``: redis-py 8
    deprecates the ``setex`` dogpile calls, and warns on every write."""

    def set_serialized(self, key: str, value: bytes) -> None:
        self.writer_client.set(key, value, ex=self.redis_expiration_time or None)

    def set_serialized_multi(self, mapping: Mapping[str, bytes]) -> None:
        pipe = self.writer_client.pipeline()
        for key, value in mapping.items():
            pipe.set(key, value, ex=self.redis_expiration_time or None)
        pipe.execute()


# dogpile configures regions by backend name; register_backend is untyped.
register_backend("datm.redis", __name__, SetExRedisBackend.__name__)  # type: ignore[no-untyped-call]


class RedisSharedCache:
    """A ``SharedCache`` on Redis. ``prefix`` namespaces the keys (tests use one
    per test); the codec's schema tag is appended, so datm versions whose values
    differ in shape never read each other's keys."""

    def __init__(
        self,
        client: redis.Redis,
        health: RedisHealth,
        prefix: str = "datm:lastfm:",
        lock_seconds: float = 30.0,
        stale_seconds: float = 60.0,
    ) -> None:
        self._pool = client.connection_pool
        self._health = health
        self._prefix = f"{prefix}{codec.SCHEMA}:"
        # A lock holder that dies frees its key after lock_seconds; it must outlast
        # the slowest last.fm call (timeout times retries) or two processes call.
        self._lock_seconds = lock_seconds
        # How long past its TTL a value stays in Redis, to be served by dogpile
        # while one process refreshes it.
        self._stale_seconds = stale_seconds
        self._regions: dict[tuple[float, str], CacheRegion] = {}
        self._regions_lock = threading.Lock()

    def get_or_create(
        self, key: str, ttl: float, result_type: Any, create: Callable[[], Stamped[T]]
    ) -> Stamped[T]:
        if not self._health.available():
            return create()
        created: list[Stamped[T]] = []
        failed: list[BaseException] = []

        def creator() -> Stamped[T]:
            try:
                stamped = create()
            except BaseException as error:
                failed.append(error)
                raise
            created.append(stamped)
            return stamped

        region = self._region(ttl, result_type)
        try:
            value: Stamped[T] = region.get_or_create(self._prefix + key, creator)
        except Exception as error:
            if failed:  # last.fm's error, not the cache's: the caller must see it
                raise failed[0] from None
            self._cache_failed(region, self._prefix + key, error)
            return created[0] if created else create()
        self._health.succeeded()
        return value

    def _cache_failed(self, region: CacheRegion, key: str, error: Exception) -> None:
        if isinstance(error, LockError):
            # The call outlasted lock_seconds and the lock expired under it: Redis
            # is fine, another process may just have called last.fm as well.
            log.warning("last.fm call outlasted the shared cache's lock on %r", key)
            return
        if isinstance(error, REDIS_FAILURES):
            self._health.failed(error)
            return
        # Not Redis failing but what it holds: a document dogpile itself cannot
        # parse. Drop it so the next call stores a good one.
        log.warning("unreadable shared cache entry %r dropped: %r", key, error)
        try:
            region.delete(key)
        except REDIS_FAILURES as failure:
            self._health.failed(failure)

    def _region(self, ttl: float, result_type: Any) -> CacheRegion:
        # One region per TTL and type: the Redis expiry and the decoder are per region.
        name = (ttl, str(result_type))
        with self._regions_lock:
            region = self._regions.get(name)
            if region is None:
                region = self._regions[name] = self._make_region(ttl, result_type)
            return region

    def _make_region(self, ttl: float, result_type: Any) -> CacheRegion:
        def deserialize(data: bytes) -> Stamped[Any]:
            try:
                return _loads(result_type, data)
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                log.warning("unreadable shared cache value treated as a miss: %r", error)
                raise CantDeserializeException() from error

        return make_region(serializer=_dumps, deserializer=deserialize).configure(
            "datm.redis",
            expiration_time=ttl,
            arguments={
                "connection_pool": self._pool,
                "redis_expiration_time": math.ceil(ttl + self._stale_seconds),
                "distributed_lock": True,
                "thread_local_lock": False,
                "lock_timeout": self._lock_seconds,
                "lock_prefix": "lock:",
            },
        )


def _dumps(stamped: Stamped[Any]) -> bytes:
    document = {"fetched": stamped.fetched, "value": codec.encode(stamped.value)}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _loads(result_type: Any, data: bytes) -> Stamped[Any]:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise codec.CodecError(f"{len(data)} bytes is too large for a last.fm answer")
    document = json.loads(data)
    if not isinstance(document, dict) or set(document) != {"fetched", "value"}:
        raise codec.CodecError("not a cached last.fm answer")
    fetched = codec.decode(float, document["fetched"])
    return Stamped(codec.decode(result_type, document["value"]), fetched)
