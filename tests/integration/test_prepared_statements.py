"""Statements prepared per connection: reused, recovered after a failure and a reconnect."""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from sqlalchemy import Engine  # noqa: E402

from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.prepared import PREPARED, Prepared  # noqa: E402
from datm.adapters.postgres.transaction import Transaction  # noqa: E402
from datm.domain.errors import Conflict, ProgrammingError  # noqa: E402
from datm.settings import Settings  # noqa: E402

DOUBLE = Prepared("datm_test_double", "SELECT %(x)s::int * 2, %(x)s::int + %(y)s::int")


@pytest.fixture
def engine() -> Iterator[Engine]:
    with postgres_support.one_connection_engine() as engine:
        yield engine


def fetch(engine: Engine, *statements: str | Prepared, **params: int) -> list[tuple[int, ...]]:
    tx = Transaction(engine)
    try:
        return [tuple(row) for row in tx.fetch(list(statements), params)]
    finally:
        tx.release()


def prepared_on_server(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in rows}


def test_a_statement_is_prepared_once_per_connection_then_executed_by_name(
    engine: Engine,
) -> None:
    assert fetch(engine, DOUBLE, x=4, y=1) == [(8, 5)]
    assert fetch(engine, DOUBLE, x=5, y=2) == [(10, 7)]  # the same pooled connection

    assert prepared_on_server(engine) == {"datm_test_double"}
    with engine.connect() as conn:
        assert conn.connection.info[PREPARED] == {"datm_test_double"}


def test_a_failed_string_that_prepared_leaves_the_connection_usable(engine: Engine) -> None:
    # The PREPARE runs, then the string fails: the statement exists on the server
    # although datm cannot know it; the next use must not fail with "already exists".
    with pytest.raises(ProgrammingError):
        fetch(engine, DOUBLE, "SELECT 1 / 0", x=1, y=1)

    assert fetch(engine, DOUBLE, x=3, y=4) == [(6, 7)]
    assert fetch(engine, DOUBLE, x=2, y=2) == [(4, 4)]


def test_a_new_connection_prepares_again(engine: Engine) -> None:
    assert fetch(engine, DOUBLE, x=1, y=2) == [(2, 3)]
    with engine.connect() as conn:
        conn.invalidate()  # the pool record gets a new connection on next checkout

    assert fetch(engine, DOUBLE, x=6, y=1) == [(12, 7)]
    assert prepared_on_server(engine) == {"datm_test_double"}


def test_a_schema_change_under_a_prepared_statement_costs_one_retried_conflict() -> None:
    with postgres_support.fresh_database("datm_prepared") as url:
        engine = make_engine(Settings(database_url=url, pool_size=1, max_overflow=0))
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
            read = Prepared("datm_test_read_t", "SELECT * FROM t WHERE v > %(floor)s")
            assert fetch(engine, read, floor=0) == [(7,)]
            with engine.connect() as conn:
                conn.exec_driver_sql("ALTER TABLE t ADD COLUMN w int DEFAULT 1")

            with pytest.raises(Conflict):  # what services retry
                fetch(engine, read, floor=0)

            assert fetch(engine, read, floor=0) == [(7, 1)]
        finally:
            engine.dispose()
