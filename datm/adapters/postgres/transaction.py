"""One Postgres transaction as a unit of work drives it.

Reads go through the ORM session; ``BEGIN`` and the market gate wait in a
prelude that rides in front of the next statement; writes are buffered and sent
at commit as one string that ends in ``COMMIT``. Under a row lock that is one
round trip for all the writes of a trade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import psycopg2
from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.orm import Session

from datm.adapters.postgres.engine import PRELUDE
from datm.adapters.postgres.errors import DatabaseUnavailable, translate, translated
from datm.adapters.postgres.prepared import Prepared, Preparer, Statement, is_stale_plan
from datm.domain.artist import Artist
from datm.domain.errors import DatmError, ProgrammingError
from datm.domain.player import Holding, Player

T = TypeVar("T")
Writes = list[tuple[Statement, dict[str, Any]]]

_ROLLBACK_ENDS = (
    psycopg2.extensions.TRANSACTION_STATUS_INTRANS,
    psycopg2.extensions.TRANSACTION_STATUS_INERROR,
)
MARKET_LOCK_KEY = 0x6461746D  # "datm": the advisory lock of the market
MARKET_GATE = f"SELECT datm_require_market_open({MARKET_LOCK_KEY})"  # raises DM001


@dataclass
class TrackedPlayer:
    """A player as it was read (its row's values, holdings and trophies), to
    write at commit only what changed."""

    player: Player
    holdings: dict[str, Holding]
    trophies: dict[str, datetime]
    row: dict[str, Any] = field(default_factory=dict)  # empty: a new player


@dataclass
class Pending:
    players: dict[str, TrackedPlayer] = field(default_factory=dict)
    new_players: set[str] = field(default_factory=set)
    deleted_players: set[str] = field(default_factory=set)
    artists: dict[str, Artist] = field(default_factory=dict)
    new_artists: set[str] = field(default_factory=set)
    # Artists read unlocked for a trade: mbid -> the artist as read. Their move is
    # applied at commit to the row as it is then (see artists.artist_moves).
    moving: dict[str, Artist] = field(default_factory=dict)
    writes: Writes = field(default_factory=list)


class Transaction:
    """On one pooled connection, checked out here. The hot path drives the
    driver's connection itself; SQLAlchemy's ``Connection`` and ``Session`` are
    made over the same pooled connection only when an ORM read needs them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        with translated():
            self._pooled = engine.raw_connection()
        self._conn: Connection | None = None
        self._session: Session | None = None
        self._cursor: Any = None
        self.pending = Pending()
        self.held_prices: dict[str, int] = {}  # of the locked players' artists
        self._prelude: list[str] = []
        self._begun = False
        self._want_gate = False
        self._locked = False
        self._checks: list[str] = []
        self.closed = False

    # -- framing -------------------------------------------------------------
    def begin(self) -> None:
        """Open the transaction with the next statement (locks and writes need one)."""
        self.check_open()
        if self._begun:
            return
        self._begun = True
        self._prelude.insert(0, "BEGIN")
        if self._want_gate and MARKET_GATE not in self._prelude:
            self._prelude.append(MARKET_GATE)  # held shared until COMMIT or ROLLBACK

    def gate(self) -> None:
        """Refuse with MarketClosed if a close holds the market lock. Inside a
        transaction the shared lock is held until it ends; a read-only unit of
        work just checks, in the implicit transaction of its next statement."""
        self.check_open()
        if not self._want_gate:
            self._want_gate = True
            self._prelude.append(MARKET_GATE)

    def take_gate(self) -> bool:
        """Whether the market gate is still to be sent in this transaction, which
        the caller now takes on: it rides in the caller's own statement."""
        if MARKET_GATE in self._prelude:
            self._prelude.remove(MARKET_GATE)
            return True
        return False

    def take_check(self, statement: str) -> bool:
        """Whether ``statement`` was queued by ``check`` and not yet sent; the
        caller now does what it checks, in a statement of its own."""
        if statement in self._checks:
            self._checks.remove(statement)
            return True
        return False

    def check(self, statement: str) -> None:
        """Queue a statement that raises if something is wrong. It rides in front of
        the first statement sent after a row lock is held (or the commit), so it
        reads what that lock protects, at no round trip of its own."""
        self.check_open()
        self._checks.append(statement)

    def check_open(self) -> None:
        if self.closed:
            raise ProgrammingError("this unit of work is closed")

    # -- statements ----------------------------------------------------------
    def _take_prelude(self) -> str:
        if self._locked and self._checks:
            self._prelude += self._checks
            self._checks.clear()
        prelude = ";\n".join(self._prelude)
        self._prelude.clear()
        return prelude

    def fetch(
        self, sql: Statement | Sequence[Statement], params: dict[str, Any], locks: bool = False
    ) -> list[Any]:
        """Rows of hand-written statements (the last one's), run on the driver's
        cursor: the trade's hot path, where SQLAlchemy's statement building would
        cost more CPU than the database spends on the statement."""
        self.check_open()
        statements = [sql] if isinstance(sql, str | Prepared) else list(sql)
        prelude = self._take_prelude()
        preparer = self._preparer()
        body = [preparer.text(s) for s in statements]
        text = ";\n".join([*preparer.front(), *([prelude] if prelude else []), *body])

        def send() -> list[Any]:
            if self._cursor is None:
                self._cursor = self._dbapi().cursor()
            self._cursor.execute(text, params)
            rows: list[Any] = self._cursor.fetchall()
            return rows

        rows = self._round_trip(preparer, send)
        self._locked = self._locked or locks
        return rows

    def _round_trip(self, preparer: Preparer, send: Callable[[], T]) -> T:
        """``send`` the driver's calls of one round trip; on failure, tell
        ``preparer`` and raise the datm error. A plain try/except rather than
        context managers: it runs twice per trade."""
        try:
            result = send()
        except psycopg2.Error as error:
            raise self._driver_failed(error, preparer) from error
        except BaseException:
            preparer.failed()
            raise
        preparer.sent()
        return result

    def _preparer(self) -> Preparer:
        return Preparer(self._pooled.info)

    def _dbapi(self) -> Any:
        dbapi = self._pooled.dbapi_connection
        if dbapi is None:  # invalidated after a failure; the unit of work is over
            raise DatabaseUnavailable("connection lost")
        return dbapi

    def fetch_after_lock(
        self, lock: Statement, sql: Statement, params: dict[str, Any]
    ) -> list[Any]:
        """``lock`` takes a row lock; the queued checks and then ``sql`` follow it in
        the same round trip. Under read committed each statement of the string
        takes its snapshot when it starts, so they read what the lock protects."""
        self.check_open()
        statements: list[Statement] = [lock, *self._checks, sql]
        self._checks.clear()
        return self.fetch(statements, params, locks=True)

    def _driver_failed(self, error: psycopg2.Error, preparer: Preparer) -> DatmError:
        """The datm error for a failure of the driver's own cursor, after what
        SQLAlchemy does for its own statements when one says the connection was
        lost: mark every pooled connection as old as this one invalid, to be
        replaced at its next checkout. (Else, after a Postgres restart, each dead
        connection in the pool fails one call, however much later it is checked
        out.) This connection is left as it is: its rollback or release discards it."""
        preparer.failed(stale=is_stale_plan(error))
        pooled = self._pooled
        if self._engine.dialect.is_disconnect(cast(Any, error), pooled.dbapi_connection, None):
            self._engine.pool._invalidate(pooled, error, _checkin=False)  # as Connection does
        return translate(error)

    @property
    def conn(self) -> Connection:
        """SQLAlchemy's connection over the pooled one, made on first use."""
        if self._conn is None:
            self._conn = Connection(self._engine, connection=self._pooled)
        return self._conn

    @property
    def session(self) -> Session:
        """The ORM session, made on first use: the trade's path never needs one."""
        if self._session is None:
            self._session = Session(bind=self.conn, autoflush=False, expire_on_commit=False)
        return self._session

    def execute(
        self, statement: Executable, params: dict[str, Any] | None = None, locks: bool = False
    ) -> Any:
        """The SQLAlchemy result (typed loosely: rows are unpacked by position);
        ``locks`` says the statement takes row locks."""
        self.check_open()
        prelude = self._take_prelude()
        with translated():
            if prelude:
                self.conn.info[PRELUDE] = prelude
            try:
                result = self.session.execute(statement, params)
            finally:
                self.conn.info.pop(PRELUDE, None)
        self._locked = self._locked or locks
        return result

    def detached(self, objects: Iterable[T]) -> list[T]:
        """Objects read without a lock are the caller's copies, not tracked."""
        result = list(objects)
        for obj in result:
            self.session.expunge(obj)
        return result

    def write(self, sql: Statement, params: dict[str, Any]) -> None:
        self.check_open()
        self.pending.writes.append((sql, params))

    def flush_and_commit(self, writes: Sequence[tuple[Statement, dict[str, Any]]]) -> None:
        """Send what is queued, every write and COMMIT as one string."""
        self.check_open()
        if writes:
            self.begin()
        self._prelude += self._checks
        self._checks.clear()
        if not self._prelude and not self._begun:
            return
        preparer = self._preparer()

        def send() -> None:
            with closing(self._dbapi().cursor()) as cursor:
                body = [cursor.mogrify(preparer.text(sql), params) for sql, params in writes]
                parts = [p.encode() for p in (*preparer.front(), *self._prelude)] + body
                if self._begun:
                    parts.append(b"COMMIT")
                self._prelude.clear()
                cursor.execute(b";\n".join(parts))

        self._round_trip(preparer, send)
        self._begun = self._want_gate = self._locked = False

    def forget(self) -> None:
        """Drop what the unit of work tracked (after commit or rollback)."""
        self.pending = Pending()
        self.held_prices.clear()
        if self._session is not None:
            self._session.expunge_all()

    def release(self) -> None:
        """Give the connection back; the transaction must be over."""
        self.closed = True
        if self._cursor is not None:
            self._cursor.close()
        if self._session is not None:
            self._session.close()
        self._end_a_transaction_left_open()
        if self._conn is not None:
            self._conn.close()  # gives back the pooled connection it wraps
        else:
            self._pooled.close()

    def _end_a_transaction_left_open(self) -> None:
        """The pool does not reset connections (see engine.make_engine): a
        transaction still open on the server after a failure is rolled back
        here, or the connection discarded, before the next unit of work gets it.
        libpq knows the server's transaction status without a round trip."""
        dbapi = self._pooled.dbapi_connection
        if dbapi is None:
            return
        status = dbapi.info.transaction_status
        if status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            return
        if status in _ROLLBACK_ENDS:
            self._roll_back_on(dbapi)
        else:  # busy or unknown: no ROLLBACK can be trusted to end it
            self._invalidate()

    def rollback(self) -> None:
        """End the transaction on the server, if one was begun; forget the prelude."""
        self._prelude.clear()
        self._checks.clear()
        self._want_gate = self._locked = False
        if not self._begun:
            return
        self._begun = False
        dbapi = self._pooled.dbapi_connection
        if dbapi is not None:
            self._roll_back_on(dbapi)

    def _roll_back_on(self, dbapi: Any) -> None:
        try:
            with closing(dbapi.cursor()) as cursor:
                cursor.execute("ROLLBACK")
        except Exception:
            # A dead connection ends its transaction by itself; drop it from the pool.
            self._invalidate()

    def _invalidate(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
        else:
            self._pooled.invalidate()
