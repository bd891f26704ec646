"""The real PostgreSQL server for tests: where it is, whether it is up, scratch databases.

Tests never fall back to SQLite or mocks. Where the server cannot be reached a
test skips with a reason that names the command starting it; with
``DATM_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) it fails instead, so CI never
passes by skipping. The server is ``DATM_TEST_DATABASE_URL``, by default
``postgresql://postgres@127.0.0.1:5432/test``.

Import the module (``import postgres_support``) rather than its functions: a
test module's names starting with ``test`` are collected by pytest.
"""

from __future__ import annotations

import functools
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
INSTALL_COMMAND = "pip install -e '.[test,postgres]'"
CONNECT_TIMEOUT_SECONDS = 3
PREFIX = re.compile(r"[a-z][a-z0-9_]{0,29}")

F = TypeVar("F", bound=Callable[..., object])


def _not_a_test(function: F) -> F:
    function.__test__ = False  # type: ignore[attr-defined]
    return function


@_not_a_test
def test_database_url() -> str:
    """The URL of the test server's maintenance database (DATM_TEST_DATABASE_URL)."""
    return os.environ.get("DATM_TEST_DATABASE_URL") or DEFAULT_URL


def postgres_required() -> bool:
    """Whether a missing server fails the test instead of skipping it (CI)."""
    return os.environ.get("DATM_REQUIRE_POSTGRES") == "1"


def unavailable(reason: str, *, module_level: bool = False) -> NoReturn:
    """Skip loudly, or fail under DATM_REQUIRE_POSTGRES=1."""
    if postgres_required():
        pytest.fail(f"{reason} (DATM_REQUIRE_POSTGRES=1, so this fails)", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def require_postgres_packages() -> None:
    """Skip (or fail) a module at collection when sqlalchemy, psycopg2 or alembic is missing.

    Call before importing ``datm.adapters.postgres``.
    """
    missing = []
    for name in ("sqlalchemy", "psycopg2", "alembic"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        unavailable(
            f"POSTGRES TESTS NOT RUN: {', '.join(missing)} not installed; run {INSTALL_COMMAND}",
            module_level=True,
        )


def require_postgres() -> str:
    """The test server's URL; skips (or fails) the test when it cannot be reached in 3 s."""
    require_postgres_packages()
    url = test_database_url()
    problem = _unreachable(url)
    if problem is not None:
        unavailable(
            f"POSTGRES TESTS NOT RUN: cannot reach {_shown(url)} within "
            f"{CONNECT_TIMEOUT_SECONDS} s ({problem}). Start the server with: {START_COMMAND} "
            f"(or point DATM_TEST_DATABASE_URL at one)"
        )
    return url


@contextmanager
def fresh_database(prefix: str, options: str = "") -> Iterator[str]:
    """A new, empty database on the test server, named ``<prefix>_<uuid>``; dropped after.
    ``options`` follow ``CREATE DATABASE name`` (a template, a locale).

    Yields its URL, in the same form as the test server's URL. Close or dispose of
    every engine on it before the block ends (the drop forces leftover sessions out).
    """
    if not PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} must match {PREFIX.pattern}")
    url = require_postgres()
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex}"
    _maintenance(url, f'CREATE DATABASE "{name}" {options}')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        _maintenance(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_cursor(prefix: str, seed: str = "") -> Iterator[Any]:
    """A psycopg2 cursor, in autocommit, on a fresh database migrated to the head
    revision, after ``seed`` (SQL) has run on it."""
    import psycopg2

    from datm.adapters.postgres import migrate

    with fresh_database(prefix) as url:
        migrate.upgrade(url)
        conn = psycopg2.connect(migrate.normalise_url(url).replace("+psycopg2", ""))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                if seed:
                    cursor.execute(seed)
                yield cursor
        finally:
            conn.close()


def execute(url: str, statement: str) -> None:
    """Run one statement, in a transaction of its own, on the database at ``url``."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(_psycopg2(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def sessions_on(url: str) -> list[tuple[int, str]]:
    """(pid, application_name) of every session on ``url``'s database, asked from
    the maintenance database, so that the asking session is not among them."""
    import psycopg2
    from sqlalchemy.engine import make_url

    conn = psycopg2.connect(test_database_url(), connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s",
                (make_url(url).database,),
            )
            return sorted(cursor.fetchall())
    finally:
        conn.close()


def sessions_left_on(url: str, seconds: float = 5.0) -> list[tuple[int, str]]:
    """``sessions_on`` once the server has let go of the sessions whose clients
    closed them: a backend leaves pg_stat_activity when it has noticed the closed
    socket and exited, a moment after the client's close returned."""
    deadline = time.monotonic() + seconds
    while (left := sessions_on(url)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@contextmanager
def one_connection_engine() -> Iterator[Any]:
    """datm's engine on the test server with a pool of one connection, so that
    consecutive units of work share it."""
    from datm.adapters.postgres.engine import make_engine
    from datm.settings import Settings

    engine = make_engine(Settings(database_url=require_postgres(), pool_size=1, max_overflow=0))
    try:
        yield engine
    finally:
        engine.dispose()


def _maintenance(url: str, statement: str) -> None:
    """Run a statement that cannot run in a transaction (CREATE/DROP DATABASE)."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(
        _psycopg2(url),
        poolclass=pool.NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@functools.cache
def _unreachable(url: str) -> str | None:
    """Why the server at ``url`` cannot be reached, or None when it answers."""
    from sqlalchemy import create_engine, exc, pool, text

    engine = create_engine(
        _psycopg2(url),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except exc.DBAPIError as error:
        return " ".join(str(error.orig).split()) or type(error.orig).__name__
    finally:
        engine.dispose()
    return None


def _psycopg2(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
