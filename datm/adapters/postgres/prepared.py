"""Statements prepared once per connection, then run by name.

The trade's statements are short and run thousands of times a second; parsing
and planning them each time cost the server more than executing them. psycopg2
speaks only the simple protocol, so datm prepares with SQL: ``PREPARE`` rides in
front of a statement's first use on a connection, and later uses send
``EXECUTE name(...)`` with the values inlined by the driver, as any statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

PREPARED = "datm_prepared"  # connection record info: names prepared on it
UNSURE = "datm_prepared_unsure"  # a string holding PREPAREs failed somewhere

_PARAM = re.compile(r"%\((\w+)\)s")


def is_stale_plan(error: BaseException) -> bool:
    """A prepared statement whose result changed shape under it (a migration)."""
    return getattr(error, "pgcode", None) == "0A000" and "cached plan" in str(error)


class Prepared:
    def __init__(self, name: str, sql: str) -> None:
        names = list(dict.fromkeys(_PARAM.findall(sql)))
        number = {n: f"${i}" for i, n in enumerate(names, start=1)}
        self.name = name
        self.sql = sql
        self.prepare = f"PREPARE {name} AS " + _PARAM.sub(lambda m: number[m.group(1)], sql)
        self.execute = f"EXECUTE {name}(" + ", ".join(f"%({n})s" for n in names) + ")"

    def __repr__(self) -> str:
        return f"Prepared({self.name!r})"


Statement = str | Prepared


class Preparer:
    """What one connection has prepared; kept in its pool record's ``info``,
    which the engine's connect event empties for every new connection."""

    def __init__(self, info: dict[Any, Any]) -> None:
        self._info = info
        self._names: set[str] = info.setdefault(PREPARED, set())
        self.pending: dict[str, str] = {}
        self._reset = False

    def text(self, statement: Statement) -> str:
        """The SQL to send for ``statement``, noting a PREPARE it needs first."""
        if isinstance(statement, str):
            return statement
        if statement.name not in self._names:
            self.pending[statement.name] = statement.prepare
        return statement.execute

    def front(self) -> list[str]:
        """Statements to send before the rest: a reset after a failure, PREPAREs."""
        self._reset = bool(self._info.pop(UNSURE, False))
        return (["DEALLOCATE ALL"] if self._reset else []) + list(self.pending.values())

    def sent(self) -> None:
        self._names.update(self.pending)
        self.pending.clear()
        self._reset = False

    def failed(self, stale: bool = False) -> None:
        """Some PREPAREs of a failed string may have run (they outlive a rollback),
        or a migration changed what a prepared statement returns: start again
        from nothing on this connection."""
        if self.pending or self._reset or stale:
            self._names.clear()
            self._info[UNSURE] = True
        self.pending.clear()
        self._reset = False


def fetch(conn: Connection, statement: Prepared, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of ``statement`` run on ``conn`` in one round trip, prepared on
    that connection first if it is not yet (the PREPARE rides in front)."""
    preparer = Preparer(conn.connection.info)
    execute = preparer.text(statement)  # first: it notes the PREPARE front() sends
    sql = ";\n".join([*preparer.front(), execute])
    try:
        rows = conn.exec_driver_sql(sql, dict(params)).all()
    except DBAPIError as error:
        preparer.failed(stale=error.orig is not None and is_stale_plan(error.orig))
        raise
    except BaseException:
        preparer.failed()
        raise
    preparer.sent()
    return rows
