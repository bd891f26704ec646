"""Fixtures shared by the contract and e2e tests.

``backend`` names a wiring in ``WIRINGS``; every contract test runs once per
backend. A builder must give each test a game database of its own (the memory
builder makes a new store; a database builder empties its tables), because the
contract checks the game's numbers from a fresh listing. Player names are unique
per test anyway (``harness.unique_name``), as Cosmic Python's ``random_refs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from harness import QUOTE_SECRET, START, Game
from injector import Injector

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.ports.lastfm import LastfmPort
from datm.settings import Settings
from datm.wiring import create_injector

Builder = Callable[[pytest.FixtureRequest, ManualClock], Injector]


def memory_wiring(request: pytest.FixtureRequest, clock: ManualClock) -> Injector:
    return create_injector(Settings(quote_secret=QUOTE_SECRET), wiring="memory", clock=clock)


WIRINGS: dict[str, Builder] = {"memory": memory_wiring}


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def game(backend: str, request: pytest.FixtureRequest) -> Iterator[Game]:
    clock = ManualClock(START)
    injector = WIRINGS[backend](request, clock)
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(lastfm, OfflineLastfm)
    yield Game(injector, clock, lastfm)
