"""The market lock across machines: a Postgres advisory lock.

The close holds it exclusively on a connection of its own, so a close that
dies releases it with its connection. Trades take it shared for their
transaction (``transaction.MARKET_GATE``, which a trade's player lock carries:
``hot_sql.LOCK_PLAYER_GATED``); while the close holds it, or waits for it, every
new trade fails at once with ``MarketClosed``.

Advisory locks belong to one database: another game database on the same server
has a market lock of its own under the same key, so every look at ``pg_locks``
is limited to the current database.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres.errors import translate, translated
from datm.adapters.postgres.transaction import MARKET_LOCK_KEY
from datm.domain.errors import Conflict, MarketLockBusy, ProgrammingError
from datm.ports.market import MarketLock, MarketLockHolder

log = logging.getLogger(__name__)

_THE_LOCK = (
    "l.locktype = 'advisory'"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1 AND l.mode = 'ExclusiveLock'"
)
_IS_CLOSED = text(f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {_THE_LOCK})")
# A datm holder's last statement is the one right after the grant (see acquire), so
# its query_start is when it got the lock; a waiter's is when it began to wait.
_HOLDER = text(
    "SELECT l.pid, l.granted, a.application_name, a.client_hostname,"
    " host(a.client_addr) AS client_addr, a.client_port, a.query_start"
    f" FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE {_THE_LOCK}"
    " ORDER BY l.granted DESC, a.query_start LIMIT 1"
)
_NAME = text("SELECT set_config('application_name', :name, false)")
_LOCK = text("SELECT pg_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
# How a datm process announces itself on its lock connection (63 characters at most).
_APPLICATION = "datm market lock {pid}@{host}"
_ANNOUNCED = re.compile(r"datm market lock (\d+)@")


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
            # The server knows only its backend's pid and the client's address: say
            # which process on which machine holds the market, for `datm market status`.
            name = _APPLICATION.format(pid=os.getpid(), host=socket.gethostname())
            conn.execute(_NAME, {"name": name[:63]})
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
                _unlock(conn)
        except Exception:
            conn.invalidate()  # closing the connection releases the lock anyway
            raise
        finally:
            conn.close()

    def is_open(self) -> bool:
        with translated(), self._engine.connect() as conn:
            closed = conn.execute(_IS_CLOSED, {"key": MARKET_LOCK_KEY}).scalar_one()
        return not closed

    def holder(self) -> MarketLockHolder | None:
        with translated(), self._engine.connect() as conn:
            row = conn.execute(_HOLDER, {"key": MARKET_LOCK_KEY}).mappings().first()
        return None if row is None else _holder(row)

    def close(self) -> None:
        with self._mutex:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            _unlock(conn)
        except Exception as error:  # the server or the network went away: so did the lock
            log.debug("market lock connection lost at close: %s", error)
            conn.invalidate()
        finally:
            conn.close()


def _unlock(conn: Connection) -> None:
    conn.execute(_UNLOCK, {"key": MARKET_LOCK_KEY})
    conn.exec_driver_sql("RESET application_name")  # back to the pool's "datm"


def _holder(row: Any) -> MarketLockHolder:
    application = row["application_name"]
    announced = _ANNOUNCED.match(application or "")
    host = row["client_hostname"] or row["client_addr"]
    if host is None and row["client_port"] == -1:
        host = "local socket"
    since: datetime | None = row["query_start"]
    return MarketLockHolder(
        pid=int(announced.group(1)) if announced else None,
        host=host,
        application=application or None,
        since=since.astimezone(UTC) if since is not None else None,
        waiting=not row["granted"],
        backend_pid=row["pid"],
    )
