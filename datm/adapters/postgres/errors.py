"""The one place where database errors become datm errors.

Serialization failures, deadlocks and lock timeouts become ``Conflict`` (the
services retry the whole transaction); a lost connection or a server going
down becomes ``DatabaseUnavailable`` (transient); a failure to connect says why
and is transient or a configuration error (``connect_errors``); anything else is
a bug, a ``ProgrammingError`` whose message holds the SQLSTATE, the driver's
error class and the server's primary message only: never the statement or its
parameters (a session key, a quote token), which stay on ``__cause__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
from sqlalchemy import exc as sa_exc

from datm.adapters.postgres.connect_errors import DatabaseUnavailable as DatabaseUnavailable
from datm.adapters.postgres.connect_errors import connect_failure, is_connect_failure
from datm.adapters.postgres.prepared import is_stale_plan
from datm.domain.errors import (
    Conflict,
    DatmError,
    MarketClosed,
    ProgrammingError,
    QuoteInvalid,
)

MARKET_CLOSED_SQLSTATE = "DM001"  # raised by the market gate (see transaction.py)
QUOTE_USED_SQLSTATE = "DM002"  # raised by the used-quote check (see records.py)
RETRYABLE = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
    "23505",  # unique_violation: a concurrent insert of the same key
}
UNAVAILABLE_CLASSES = ("08", "57", "53")  # connection, operator intervention, resources
# psycopg2 sends parameters inlined as literals, so the server may quote one back:
# class 22 (data exception: 'invalid input syntax for type integer: "..."') quotes
# values, and a syntax error quotes the token it stopped at, which may be a literal.
_QUOTED = re.compile(r'"[^"]*"')
_QUOTED_LITERAL = re.compile(r'"[^"]*\'[^"]*"')


def pgcode_of(error: BaseException) -> str | None:
    original = getattr(error, "orig", error)
    code = getattr(original, "pgcode", None)
    return code if isinstance(code, str) else None


def constraint_of(error: BaseException) -> str | None:
    original = getattr(error, "orig", error)
    diag = getattr(original, "diag", None)
    name = getattr(diag, "constraint_name", None) if diag is not None else None
    return name if isinstance(name, str) else None


def translate(error: BaseException) -> DatmError:
    """The datm error for a driver or SQLAlchemy error."""
    if isinstance(error, DatmError):
        return error
    code = pgcode_of(error)
    if code == MARKET_CLOSED_SQLSTATE:
        return MarketClosed()
    if code == QUOTE_USED_SQLSTATE or (
        code == "23505" and constraint_of(error) == "ux_trades_quote_id"
    ):
        return QuoteInvalid("already used")
    if is_stale_plan(error):
        return Conflict("a prepared statement outlived a schema change")  # prepared anew
    if code in RETRYABLE:
        return Conflict(f"{code} {constraint_of(error) or ''}".strip())
    original = getattr(error, "orig", None) or error
    if code is not None and code.startswith(UNAVAILABLE_CLASSES):
        return DatabaseUnavailable(f"{code} {_primary(original) or ''}".strip())
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return DatabaseUnavailable(f"connection lost: {_first_line(original)}")
    if isinstance(original, psycopg2.OperationalError | psycopg2.InterfaceError):
        if code is not None:  # the server's, e.g. 58030 io_error
            return DatabaseUnavailable(f"{code} {_primary(original) or ''}".strip())
        message = str(original)
        if is_connect_failure(message):
            return connect_failure(message)  # a connect outside connect_errors.install
        # libpq's own words (a lost connection): they never hold a statement.
        return DatabaseUnavailable(f"connection lost: {_first_line(original)}")
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return DatabaseUnavailable(f"connection lost ({type(error).__name__})")
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseUnavailable("no free connection in the pool")
    return _programming(error, original, code)


def _programming(error: BaseException, original: BaseException, code: str | None) -> DatmError:
    """A bug: says what failed, not what was sent (that stays on ``__cause__``)."""
    name = type(original).__name__
    if isinstance(original, psycopg2.Error):
        primary = _primary(original)
        if primary and code and code.startswith("22"):
            primary = _QUOTED.sub('"..."', primary)
        elif primary:
            primary = _QUOTED_LITERAL.sub('"..."', primary)
        shown = f": {primary}" if primary else " (raised by the driver)"
        return ProgrammingError(
            f"database error {code or 'without SQLSTATE'} {name}{shown}",
            sqlstate=code,
            error_class=name,
        )
    if isinstance(error, sa_exc.StatementError):  # a failure while sending: its text has the SQL
        return ProgrammingError(
            f"database error {name} while executing a statement", sqlstate=None, error_class=name
        )
    # SQLAlchemy's own errors outside a statement carry no SQL and no parameters.
    return ProgrammingError(f"database error {name}: {error}", sqlstate=None, error_class=name)


def _primary(error: BaseException) -> str | None:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return primary if isinstance(primary, str) else None


def _first_line(error: BaseException) -> str:
    lines = (line.strip() for line in str(error).splitlines())
    return next((line for line in lines if line), type(error).__name__)


def violates(error: BaseException, constraint: str) -> bool:
    """Whether ``error`` (a datm error or the driver's) broke ``constraint``."""
    cause = error.__cause__ if isinstance(error, DatmError) else error
    return cause is not None and constraint_of(cause) == constraint


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise any database error as a datm error, keeping the cause."""
    try:
        yield
    except DatmError:
        raise
    except (sa_exc.SQLAlchemyError, psycopg2.Error) as error:
        raise translate(error) from error
