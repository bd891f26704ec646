"""Fixtures shared by the contract and e2e tests.

``backend`` names a wiring in ``WIRINGS``; every contract test runs once per
backend: ``memory``, and ``postgres`` on the real server (marked ``postgres``;
it skips loudly where the server is down, or fails under
``DATM_REQUIRE_POSTGRES=1``). A builder must give each test a game database of
its own (the memory builder makes a new store; the Postgres builder empties the
session's database, see ``backends``), because the contract checks the game's
numbers from a fresh listing. Player names are unique per test anyway
(``harness.unique_name``), as Cosmic Python's ``random_refs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import backends
import pytest
from harness import START, Game
from hypothesis import settings
from injector import Injector
from through_aio import aio_game

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.ports.lastfm import LastfmPort

# No deadline on any hypothesis example: a deadline is a timed assertion, and on a
# busy two-core machine a pure function's example once took 341 ms (CI, a pause of
# the machine, not of the code). Speed is shown by the benchmarks in bench/.
settings.register_profile("datm", deadline=None)
settings.load_profile("datm")

Builder = Callable[[pytest.FixtureRequest, ManualClock], Injector]


def memory_wiring(request: pytest.FixtureRequest, clock: ManualClock) -> Injector:
    return backends.build_injector("memory", clock)


def postgres_wiring(request: pytest.FixtureRequest, clock: ManualClock) -> Injector:
    return backends.build_injector("postgres", clock)


def postgres_redis_wiring(request: pytest.FixtureRequest, clock: ManualClock) -> Injector:
    return backends.build_injector("postgres-redis", clock)


WIRINGS: dict[str, Builder] = {
    "memory": memory_wiring,
    "postgres": postgres_wiring,
    "postgres-redis": postgres_redis_wiring,
}


@pytest.fixture(params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session", autouse=True)
def _postgres_test_database() -> Iterator[None]:
    """Drop the session's Postgres database, if a test made one."""
    yield
    backends.POSTGRES.drop()


@pytest.fixture(autouse=True)
def _close_games() -> Iterator[None]:
    """Dispose of the engine of every Postgres game the test built."""
    yield
    backends.close_all()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked ``through_aio`` runs its game's tests directly and again with
    every service call sent through ``datm.aio`` (tests/through_aio.py)."""
    if "route" in metafunc.fixturenames and metafunc.definition.get_closest_marker("through_aio"):
        metafunc.parametrize("route", ["direct", "aio"], indirect=True)


@pytest.fixture
def route(request: pytest.FixtureRequest) -> str:
    name: str = getattr(request, "param", "direct")
    return name


@pytest.fixture
def game(backend: str, route: str, request: pytest.FixtureRequest) -> Iterator[Game]:
    clock = ManualClock(START)
    injector = WIRINGS[backend](request, clock)
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(lastfm, OfflineLastfm)
    direct = Game(injector, clock, lastfm)
    if route == "aio":
        with aio_game(direct) as through:
            yield through
    else:
        yield direct
