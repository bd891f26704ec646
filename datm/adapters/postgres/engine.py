"""The engine: pool settings from configuration, connections in autocommit.

datm frames its own transactions. A unit of work sends ``BEGIN`` (and the market
gate) in front of its first locking statement and ``COMMIT`` behind its writes,
so that a trade costs as few round trips as possible while it holds row locks:
each round trip under a lock is time every other buyer of that artist waits.
Reads outside a transaction run as single autocommitted statements, which is
read committed, like the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from datm.adapters.postgres.orm import start_mappers
from datm.adapters.postgres.prepared import PREPARED, UNSURE
from datm.domain.errors import InvalidInput
from datm.settings import Settings

PRELUDE = "datm_prelude"


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise InvalidInput("database_url", "datm needs a postgresql:// URL")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def make_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database_url``; connects lazily, on first use."""
    if not settings.database_url:
        raise InvalidInput("database_url", "set DATM_DATABASE_URL")
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
        connect_args={"connect_timeout": 5, "application_name": "datm"},
    )
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
