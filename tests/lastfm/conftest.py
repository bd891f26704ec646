"""Fixtures of the last.fm tests: the fake last.fm on the recordings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from recorded_lastfm import RECORDINGS

from datm.fake_lastfm import FakeLastfm


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm(RECORDINGS) as server:
        yield server
