"""Schema migrations: alembic, shipped inside the package (``datm db upgrade``).

The alembic environment lives in ``migrations/`` beside this module; there is
no alembic.ini, :func:`alembic_config` builds the configuration from a URL.
Every function takes a ``postgresql://`` or ``postgresql+psycopg2://`` URL and
raises datm errors only: ``DatabaseUnavailable`` when the server cannot be
reached, ``DatabaseRefused`` or ``ConfigurationError`` for a refusal or a bad
URL, ``InvalidInput`` for an unknown revision.

The migrations' connections are not subject to the schema check of first use
(``schema_check``): migrating is how a database gets to the head revision.

Logging: one INFO line on this module's logger per revision applied or reverted,
once its transaction has committed (alembic's own ``alembic.runtime.migration``
logger says "Running upgrade ..." as each starts). Nothing here configures logging.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, pool

from datm.adapters.postgres import connect_errors
from datm.adapters.postgres.connect_errors import Target
from datm.adapters.postgres.engine import DRIVER as DRIVER
from datm.adapters.postgres.engine import normalise_url as normalise_url
from datm.adapters.postgres.engine import parse_url
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.tables import metadata
from datm.domain.errors import InvalidInput

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 10
# The options env.py gives alembic, so a comparison here sees what autogenerate sees.
COMPARE_OPTIONS: dict[str, Any] = {"compare_type": True, "compare_server_default": True}


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None
    doc: str


@dataclass(frozen=True)
class Applied:
    """One revision applied (``upgrade``) or reverted, from ``source`` to ``target``."""

    source: str
    target: str
    doc: str
    upgrade: bool = True

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}" + (f" ({self.doc})" if self.doc else "")


def alembic_config(url: str | None, output: io.StringIO | None = None) -> Config:
    """An alembic configuration for datm's migrations against ``url``; None only for
    SQL printed offline (``output`` receives it)."""
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # ConfigParser interpolates '%': a percent-encoded password must be escaped.
        config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    # Read once per process: the schema check of every engine asks for the head.
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    """The newest revision shipped in this package."""
    revision = _scripts().get_current_head()
    assert revision is not None, "datm ships at least one revision"
    return revision


def history() -> list[Revision]:
    """Every revision shipped in this package, newest first."""
    return [
        Revision(script.revision, _one(script.down_revision), script.doc or "")
        for script in _scripts().walk_revisions()
    ]


def revision_ids() -> frozenset[str]:
    return frozenset(revision.id for revision in history())


def upgrade(url: str, revision: str = "head") -> list[Applied]:
    """Migrate the database at ``url`` up to ``revision``; what was applied."""
    return _migrate(command.upgrade, url, revision)


def downgrade(url: str, revision: str = "base") -> list[Applied]:
    """Migrate the database at ``url`` down to ``revision`` (``base`` drops everything);
    what was reverted, newest first."""
    return _migrate(command.downgrade, url, revision)


def sql(direction: str, revision: str, start: str | None = None) -> str:
    """The SQL ``upgrade`` (from ``start``, default base) or ``downgrade`` (from
    ``start``, default head) to ``revision`` would run, made offline: no connection."""
    output = io.StringIO()
    config = alembic_config(None, output)
    if direction == "upgrade":
        span = f"{start}:{revision}" if start else revision
        run = command.upgrade
    else:
        span = f"{start or 'head'}:{revision}"
        run = command.downgrade
    with _revision_errors(span):
        run(config, span, sql=True)
    return output.getvalue()


def current(url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    revisions = current_revisions(url)
    return ", ".join(revisions) if revisions else None


def current_revisions(url: str) -> tuple[str, ...]:
    """The revisions in the database's alembic_version (none when never migrated)."""
    with _connection(url) as connection:
        heads: tuple[str, ...] = MigrationContext.configure(connection).get_current_heads()
        return heads


def schema_differences(url: str) -> list[Any]:
    """What alembic's autogenerate would change to make the database match the mapping."""
    with _connection(url) as connection:
        context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
        differences: list[Any] = compare_metadata(context, metadata)
        return differences


def describe_difference(difference: Any) -> str:
    """One of ``schema_differences`` in a line: what autogenerate would do, to what."""
    if isinstance(difference, list):  # the changes of one column, together
        return "; ".join(describe_difference(part) for part in difference)
    operation = difference[0]
    if operation.startswith("modify_"):  # (op, schema, table, column, info, old, new)
        _, _, table, column, _, old, new = difference
        return f"{operation} {table}.{column}: {old!r} -> {new!r}"
    if operation in ("add_column", "remove_column"):  # (op, schema, table, Column)
        return f"{operation} {difference[2]}.{difference[3].name}"
    subject = difference[1]
    table = getattr(getattr(subject, "table", None), "name", None)
    name = getattr(subject, "name", None) or subject
    return f"{operation} {table}.{name}" if table else f"{operation} {name}"


def where(url: str) -> str:
    """The database at ``url`` as messages name it, without the password."""
    return Target.of_url(parse_url(url)).database_at


def _migrate(run: Any, url: str, revision: str) -> list[Applied]:
    config = alembic_config(url)
    steps: list[MigrationInfo] = []
    config.attributes["on_version_apply"] = lambda step, **_: steps.append(step)
    with _revision_errors(revision), translated():
        run(config, revision)
    # Logged after the commit: env.py runs every step in one transaction, so a step
    # logged as it ran could still be rolled back by a later one failing.
    applied = [_applied(step) for step in steps]
    for step in applied:
        verb = "applied migration" if step.upgrade else "reverted migration"
        log.info("%s %s to %s", verb, step, where(url))
    return applied


def _applied(step: MigrationInfo) -> Applied:
    up = ", ".join(step.up_revision_ids) or "base"
    down = ", ".join(step.down_revision_ids) or "base"
    script = _scripts().get_revision(step.up_revision_id) if step.up_revision_id else None
    doc = script.doc if script is not None and script.doc else ""
    return Applied(down, up, doc) if step.is_upgrade else Applied(up, down, doc, upgrade=False)


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(
        normalise_url(url),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    connect_errors.install(engine)
    try:
        with translated(), engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def _revision_errors(revision: str) -> Iterator[None]:
    try:
        yield
    except CommandError as error:
        raise InvalidInput("revision", f"{revision!r}: {error}") from error


def _one(down: str | Sequence[str] | None) -> str | None:
    if down is None or isinstance(down, str):
        return down
    return ", ".join(down)
