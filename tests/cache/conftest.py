"""Fixtures of the cache and rate-limit tests (see ``redis_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis_support


@pytest.fixture
def redis_url() -> str:
    """The shared test Redis; skips (or fails) when it is down."""
    return redis_support.require_shared()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis, emptied afterwards."""
    name = redis_support.unique_prefix()
    yield name
    redis_support.delete_keys(redis_url, f"*{name}*")


@pytest.fixture
def own_redis() -> Iterator[redis_support.OwnRedis]:
    """A started ``redis-server`` of this test's own, killed afterwards."""
    server = redis_support.OwnRedis()
    server.start()
    yield server
    server.kill()
