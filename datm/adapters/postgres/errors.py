"""The one place where database errors become datm errors.

Serialization failures, deadlocks and lock timeouts become ``Conflict`` (the
services retry the whole transaction); a lost connection or a server going
down becomes ``DatabaseUnavailable`` (transient); anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
from sqlalchemy import exc as sa_exc

from datm.adapters.postgres.prepared import is_stale_plan
from datm.domain.errors import (
    Conflict,
    DatmError,
    MarketClosed,
    ProgrammingError,
    QuoteInvalid,
    TransientError,
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


class DatabaseUnavailable(TransientError):
    code = "database_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the game database cannot be reached right now ({reason})", reason=reason)


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
    if code is not None and code.startswith(UNAVAILABLE_CLASSES):
        return DatabaseUnavailable(code)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return DatabaseUnavailable("connection lost")
    if isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError):
        return DatabaseUnavailable(type(error).__name__)
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return DatabaseUnavailable(type(error.orig).__name__ if error.orig else "operational")
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseUnavailable("no free connection in the pool")
    return ProgrammingError(f"database error {code or type(error).__name__}: {error}")


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
