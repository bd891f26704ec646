"""At first use, refuse a game database whose schema is not the one this datm needs.

A database never migrated, or behind this datm's head revision, fails queries in
ways that say nothing of the cause (a missing function, a missing column), or
worse, serves with old rules (at 0005 every trade went through, with the quote
check of old). So before the first unit of work or quote secret of an engine,
one query reads ``alembic_version`` and compares it with ``migrate.head()``:

- never migrated or behind: ``SchemaBehind``, "run `datm db upgrade`";
- a revision this datm does not know: ``SchemaAhead``, "this datm is older than
  the database" (a newer datm migrated it).

Cost: one single-row read on a pooled connection, once per engine (so once per
process), then one attribute test per unit of work; a trade keeps its two round
trips. An engine that was refused is checked again at its next use (one query
per call while refused), so that ``datm db upgrade`` heals running processes
without a restart, and nothing remembers a refusal that no longer holds. Once
passed, the check is not repeated: checking per connection or per transaction
would cost the hot path for a case (a database migrated under running processes)
that a deployment handles by restarting them.

The migrations' own connections (``migrate``) and raw engines made by tooling are
not checked: only the wiring's users of an engine are (``PostgresUnitOfWorkFactory``,
``StoredQuoteSecret``). The market lock needs no schema (an advisory lock).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from datm.adapters.postgres.connect_errors import Target
from datm.adapters.postgres.errors import pgcode_of, translated
from datm.domain.errors import ConfigurationError, DatabaseRefused, SchemaAhead, SchemaBehind

READ_VERSION = "SELECT version_num FROM alembic_version"
UNDEFINED_TABLE = "42P01"
INSUFFICIENT_PRIVILEGE = "42501"


def refusal(revisions: Sequence[str], database: str) -> ConfigurationError | None:
    """Why a database at ``revisions`` (alembic_version's rows) cannot serve this
    datm, or None when it is at the head revision."""
    # Imported here: alembic costs a process about 0.2 s to import, paid at first
    # use rather than by everything importing the adapter.
    from datm.adapters.postgres import migrate

    head = migrate.head()
    if list(revisions) == [head]:
        return None
    if not revisions:
        return SchemaBehind(database, None, head)
    known = migrate.revision_ids()
    shown = ", ".join(sorted(revisions))
    if all(revision in known for revision in revisions):
        return SchemaBehind(database, shown, head)
    return SchemaAhead(database, shown, head)


def describe(url: URL) -> str:
    """The database as messages name it: ``"game" on db.internal:5432``."""
    return Target.of_url(url).database_at


class SchemaGuard:
    """The check of one engine, which it does not hold (the registry below is keyed
    weakly by engine: a guard holding its key would keep every engine alive).
    ``verified`` is read without a lock: a stale False only costs a second,
    harmless check by a thread that raced the first."""

    def __init__(self) -> None:
        self.verified = False

    def require(self, engine: Engine) -> None:
        """Return once the database is at the head revision; raise why it is not."""
        if self.verified:
            return
        problem = refusal(_revisions(engine), describe(engine.url))
        if problem is not None:
            raise problem
        self.verified = True


def _revisions(engine: Engine) -> list[str]:
    with translated(), engine.connect() as conn:
        try:
            return [row[0] for row in conn.exec_driver_sql(READ_VERSION)]
        except DBAPIError as error:  # autocommit: the failure leaves nothing open
            code = pgcode_of(error)
            if code == UNDEFINED_TABLE:
                return []  # never migrated
            if code == INSUFFICIENT_PRIVILEGE:
                where = describe(engine.url)
                raise DatabaseRefused(
                    "not_allowed",
                    Target.of_url(engine.url).at,
                    f"the role of DATABASE_URL may not read alembic_version in {where}: "
                    "grant it SELECT, datm checks the schema's revision there",
                ) from error
            raise


_guards: weakref.WeakKeyDictionary[Engine, SchemaGuard] = weakref.WeakKeyDictionary()
_guards_lock = threading.Lock()


def guard(engine: Engine) -> SchemaGuard:
    """The one guard of ``engine``, shared by everything the wiring builds on it."""
    with _guards_lock:
        found = _guards.get(engine)
        if found is None:
            found = _guards[engine] = SchemaGuard()
        return found
