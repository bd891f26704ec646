"""Schema migrations: alembic, shipped inside the package (``datm db upgrade``).

The alembic environment lives in ``migrations/`` beside this module; there is
no alembic.ini, :func:`alembic_config` builds the configuration from a URL.
Every function takes a ``postgresql://`` or ``postgresql+psycopg2://`` URL and
raises datm errors only: ``DatabaseUnavailable`` when the server cannot be
reached, ``InvalidInput`` for a bad URL or an unknown revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.tables import metadata
from datm.domain.errors import InvalidInput

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DRIVER = "postgresql+psycopg2"
CONNECT_TIMEOUT_SECONDS = 10
# The options env.py gives alembic, so a comparison here sees what autogenerate sees.
COMPARE_OPTIONS: dict[str, Any] = {"compare_type": True, "compare_server_default": True}


def normalise_url(url: str) -> str:
    """``url`` with the psycopg2 driver named; refuses anything but PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput("database_url", "is not a database URL") from None
    if parsed.drivername not in ("postgresql", "postgres", DRIVER):
        raise InvalidInput(
            "database_url", f"must be a postgresql:// URL, not {parsed.drivername}://"
        )
    return parsed.set(drivername=DRIVER).render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    """An alembic configuration for datm's migrations against ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates '%': a percent-encoded password must be escaped.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return config


def head() -> str:
    """The newest revision shipped in this package."""
    revision = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert revision is not None, "datm ships at least one revision"
    return revision


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    config = alembic_config(url)
    with _revision_errors(revision), translated():
        command.upgrade(config, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` drops everything)."""
    config = alembic_config(url)
    with _revision_errors(revision), translated():
        command.downgrade(config, revision)


def current(url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    with _connection(url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(url: str) -> list[Any]:
    """What alembic's autogenerate would change to make the database match the mapping."""
    with _connection(url) as connection:
        context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
        differences: list[Any] = compare_metadata(context, metadata)
        return differences


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(
        normalise_url(url),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
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
