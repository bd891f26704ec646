"""The backends a contract test runs on, and a fresh game on each.

``memory``: a new in-memory store per injector. ``postgres``: one database per
test session on the real server (``postgres_support.fresh_database``), its
schema from ``alembic upgrade head`` (``migrate.upgrade``) the first time a test
needs it, dropped when the session ends (``tests/conftest.py``). Each game then
starts from empty tables: every datm table but the seeded leagues is truncated,
which takes milliseconds where a new database would take a second.

Every Postgres injector built here is closed (its engine disposed) at the end of
the test that built it, or earlier by ``close``; a test never leaks connections.
Import the module (``import backends``), as the harness does.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import postgres_support
import pytest
from harness import QUOTE_SECRET
from injector import Injector

import datm
from datm.adapters.clock import ManualClock
from datm.ports.leaderboard import Leaderboard
from datm.settings import Settings
from datm.wiring import create_injector

if TYPE_CHECKING:
    from sqlalchemy import Engine

BACKENDS = ["memory", pytest.param("postgres", marks=pytest.mark.postgres)]
BOARD_REDIS_URL = "redis://127.0.0.1:6379/14"  # the leaderboards' tests' own Redis database
KEPT_TABLES = frozenset({"leagues"})  # seeded by the migration; alembic_version is not datm's
TRUNCATE_LOCK_TIMEOUT = "10s"  # a lock left by a hung thread fails the next test, not hangs it


class PostgresTestDatabase:
    """The session's database on the test server: made and migrated on first use."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._url: str | None = None
        self._engine: Engine | None = None
        self._truncate = ""

    def url(self) -> str:
        """The migrated database's URL; skips (or fails) when the server is down."""
        if self._url is None:
            postgres_support.require_postgres_packages()
            from sqlalchemy import create_engine

            from datm.adapters.postgres import migrate
            from datm.adapters.postgres.tables import metadata

            with ExitStack() as stack:
                url = stack.enter_context(postgres_support.fresh_database("datm_contract"))
                migrate.upgrade(url)
                engine = create_engine(
                    migrate.normalise_url(url),
                    isolation_level="AUTOCOMMIT",
                    pool_size=1,
                    max_overflow=0,
                    pool_pre_ping=True,  # outlives a server restart by another test
                )
                stack.callback(engine.dispose)
                self._stack = stack.pop_all()
            tables = [t.name for t in metadata.sorted_tables if t.name not in KEPT_TABLES]
            self._truncate = f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
            self._engine, self._url = engine, url
        return self._url

    def emptied(self) -> str:
        """The URL, after every datm table but the leagues was emptied."""
        url = self.url()
        assert self._engine is not None
        with self._engine.connect() as connection:
            connection.exec_driver_sql(f"SET lock_timeout = '{TRUNCATE_LOCK_TIMEOUT}'")
            connection.exec_driver_sql(self._truncate)
        return url

    def bump_board_epoch(self) -> None:
        assert self._engine is not None
        with self._engine.connect() as connection:
            connection.exec_driver_sql("SELECT nextval('board_epoch')")

    def drop(self) -> None:
        """Dispose of the engine and drop the database (forcing leftover sessions out)."""
        self._url = self._engine = None
        self._stack.close()


POSTGRES = PostgresTestDatabase()
_open: list[Injector] = []


def build_injector(backend: str, clock: ManualClock, **settings: Any) -> Injector:
    """An injector for a new, empty game on ``backend``; ``settings`` override the
    test defaults (the quote secret of the harness)."""
    base = Settings(quote_secret=QUOTE_SECRET).replace(**settings)
    if backend == "memory":
        return create_injector(base, wiring="memory", clock=clock)
    if backend == "postgres":
        url = POSTGRES.emptied()
        injector = create_injector(base.replace(database_url=url), wiring="postgres", clock=clock)
        _open.append(injector)
        return injector
    if backend == "postgres-redis":
        # The leaderboards from Redis: the tables were emptied behind datm's back,
        # which the epoch says (migration 0010); the board is built again at once.
        url = POSTGRES.emptied()
        POSTGRES.bump_board_epoch()
        chosen = base.replace(database_url=url, redis_url=BOARD_REDIS_URL)
        injector = create_injector(chosen, wiring="postgres", clock=clock)
        _open.append(injector)
        injector.get(Leaderboard).rebuild(clock.today())  # type: ignore[type-abstract]
        return injector
    raise ValueError(f"no test wiring for the {backend!r} backend")


def close(injector: Injector) -> None:
    """Release what the injector opened (datm.close); harmless twice."""
    if injector in _open:
        _open.remove(injector)
        datm.close(injector)


def close_all() -> None:
    """Close every injector built since the last call (the end of a test)."""
    for injector in list(_open):
        close(injector)
