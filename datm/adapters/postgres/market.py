"""The market lock across machines: a Postgres advisory lock.

The close holds it exclusively on a connection of its own, so a close that
dies releases it with its connection. Trades take it shared for their
transaction (``transaction.MARKET_GATE``, which a trade's player lock carries:
``hot_sql.LOCK_PLAYER_GATED``); while the close holds it, or waits for it, every
new trade fails at once with ``MarketClosed``.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres.errors import translate, translated
from datm.adapters.postgres.transaction import MARKET_LOCK_KEY
from datm.domain.errors import Conflict, MarketLockBusy, ProgrammingError
from datm.ports.market import MarketLock

_IS_CLOSED = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND classid = 0 AND objid = :key AND objsubid = 1 AND mode = 'ExclusiveLock')"
)
_LOCK = text("SELECT pg_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


class PostgresMarketLock(MarketLock):
    def __init__(self, engine: Engine, lock_timeout_seconds: float) -> None:
        self._engine = engine
        self._default_ms = int(lock_timeout_seconds * 1000)
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def acquire(self, timeout: float) -> None:
        with translated():
            conn = self._engine.connect()
        try:
            conn.exec_driver_sql(f"SET lock_timeout = {max(1, int(timeout * 1000))}")
            conn.execute(_LOCK, {"key": MARKET_LOCK_KEY})
            conn.exec_driver_sql(f"SET lock_timeout = {self._default_ms}")
        except Exception as error:
            conn.invalidate()  # its settings were changed: never back to the pool
            conn.close()
            failure = translate(error)
            if isinstance(failure, Conflict):  # lock_timeout: not granted in time
                raise MarketLockBusy(timeout) from error
            raise failure from error
        with self._mutex:
            self._conn = conn

    def release(self) -> None:
        with self._mutex:
            conn, self._conn = self._conn, None
        if conn is None:
            raise ProgrammingError("the market lock is not held by this object")
        try:
            with translated():
                conn.execute(_UNLOCK, {"key": MARKET_LOCK_KEY})
        except Exception:
            conn.invalidate()  # closing the connection releases the lock anyway
            raise
        finally:
            conn.close()

    def is_open(self) -> bool:
        with translated(), self._engine.connect() as conn:
            closed = conn.execute(_IS_CLOSED, {"key": MARKET_LOCK_KEY}).scalar_one()
        return not closed
