"""Fixtures of the last.fm tests: the fake last.fm on the recordings, and the real
adapter pointed at it (``lastfm_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lastfm_support import CountingLimiter, adapter_for
from recorded_lastfm import RECORDINGS

from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.fake_lastfm import FakeLastfm


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm(RECORDINGS) as server:
        yield server


@pytest.fixture
def limiter() -> CountingLimiter:
    return CountingLimiter()


@pytest.fixture
def lastfm(fake: FakeLastfm, limiter: CountingLimiter) -> Iterator[PylastLastfm]:
    adapter = adapter_for(fake, limiter)
    yield adapter
    adapter.close()
