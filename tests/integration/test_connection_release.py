"""A unit of work gives its connection back with no transaction open on it.

The pool does not reset connections on checkin (datm's connections are in
autocommit, where psycopg2's rollback cannot see the BEGIN datm sent itself), so
``Transaction.release`` ends whatever a failure left open.
"""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2.extensions  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from datm.adapters.postgres.transaction import Transaction  # noqa: E402
from datm.domain.errors import ProgrammingError  # noqa: E402

IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


@pytest.fixture
def engine() -> Iterator[Engine]:
    with postgres_support.one_connection_engine() as engine:
        yield engine


def status_and_backend(engine: Engine) -> tuple[int, int]:
    pooled = engine.raw_connection()
    try:
        dbapi = pooled.dbapi_connection
        assert dbapi is not None
        with dbapi.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        return dbapi.info.transaction_status, pid
    finally:
        pooled.close()


def test_a_transaction_left_open_is_rolled_back_before_the_connection_is_reused(
    engine: Engine,
) -> None:
    _, backend = status_and_backend(engine)
    tx = Transaction(engine)
    tx.fetch("BEGIN; SELECT 1", {})  # begun behind the unit of work's back
    tx.release()

    assert status_and_backend(engine) == (IDLE, backend)  # the same connection, idle


def test_a_failed_transaction_left_open_is_rolled_back_too(engine: Engine) -> None:
    tx = Transaction(engine)
    with pytest.raises(ProgrammingError):
        tx.fetch("BEGIN; SELECT 1 / 0", {})
    tx.release()

    status, _ = status_and_backend(engine)
    assert status == IDLE
