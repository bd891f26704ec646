"""The engine: pool settings from configuration, connections in autocommit.

datm frames its own transactions. A unit of work sends ``BEGIN`` (and the market
gate) in front of its first locking statement and ``COMMIT`` behind its writes,
so that a trade costs as few round trips as possible while it holds row locks:
each round trip under a lock is time every other buyer of that artist waits.
Reads outside a transaction run as single autocommitted statements, which is
read committed, like the rest.

A failure to connect says why (``connect_errors``); whether the schema is the one
this datm needs is checked at first use, by ``schema_check``, not here: tooling
(the migrations, tests on a maintenance database) makes engines on databases
whose schema is not datm's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from datm.adapters.postgres import connect_errors
from datm.adapters.postgres.orm import start_mappers
from datm.adapters.postgres.prepared import PREPARED, UNSURE
from datm.domain.errors import ConfigurationError
from datm.settings import Settings

PRELUDE = "datm_prelude"
DRIVER = "postgresql+psycopg2"
ALLOWED_URL = "postgresql://user[:password]@host[:port]/database"


def parse_url(url: str) -> URL:
    """``url`` with the psycopg2 driver named; refuses anything but PostgreSQL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigurationError("DATABASE_URL", "is not a URL", ALLOWED_URL) from None
    if parsed.drivername not in ("postgresql", "postgres", DRIVER):
        raise ConfigurationError(
            "DATABASE_URL", f"is a {parsed.drivername}:// URL, datm needs PostgreSQL", ALLOWED_URL
        )
    return parsed.set(drivername=DRIVER)


def normalise_url(url: str) -> str:
    """``url`` for SQLAlchemy, with the psycopg2 driver named (and the password)."""
    return parse_url(url).render_as_string(hide_password=False)


def make_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database_url``; connects lazily, on first use."""
    if not settings.database_url:
        raise ConfigurationError("DATABASE_URL", "is not set", ALLOWED_URL)
    start_mappers()
    engine = create_engine(
        normalise_url(settings.database_url),
        isolation_level="AUTOCOMMIT",
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        # No reset on checkin: in autocommit psycopg2's rollback() is a no-op that
        # cannot see the BEGIN datm sends itself; Transaction.release ends what a
        # failure left open, from libpq's own view of the server's status.
        pool_reset_on_return=None,
        # Parameters (session keys, quote ids) out of SQLAlchemy's error texts and
        # logs; they stay on the error's ``params`` for a debugger.
        hide_parameters=True,
        connect_args={"connect_timeout": 5, "application_name": "datm"},
    )
    connect_errors.install(engine)
    lock_ms = int(settings.lock_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        # A new connection, maybe behind an old pool record: nothing prepared yet.
        record.info.pop(PREPARED, None)
        record.info.pop(UNSURE, None)
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET TIME ZONE 'UTC'; SET lock_timeout = {lock_ms}")

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _prelude(
        conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        prelude = conn.info.pop(PRELUDE, None)
        if prelude:
            statement = f"{prelude};\n{statement}"
        return statement, parameters

    return engine
