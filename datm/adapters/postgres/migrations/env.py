"""The alembic environment shipped inside datm.

There is no alembic.ini: ``datm.adapters.postgres.migrate.alembic_config``
builds the configuration and sets ``sqlalchemy.url``. Online mode opens one
connection without a pool and runs every pending revision in one transaction
(PostgreSQL has transactional DDL, so a failed upgrade leaves nothing behind).
Offline mode (``datm db upgrade --sql``) needs no URL: it only prints.

Logging is the program's to configure: unlike alembic's template, this env.py
never calls ``fileConfig`` or touches a logger. ``migrate`` logs what was applied.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from datm.adapters.postgres import connect_errors
from datm.adapters.postgres.tables import metadata

config = context.config
target_metadata = metadata
# migrate.py's hook, called after each revision runs: it logs them once committed.
on_version_apply = config.attributes.get("on_version_apply")


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``datm db upgrade --sql``)."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        dialect_name=None if url else "postgresql",
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_type=True,
        compare_server_default=True,
        render_as_batch=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("datm migrations need sqlalchemy.url; use migrate.alembic_config(url)")
    connect_args = config.attributes.get("connect_args", {})
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    connect_errors.install(engine)  # a failure to connect says why, as everywhere in datm
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                compare_type=True,
                compare_server_default=True,
                render_as_batch=False,
                on_version_apply=on_version_apply,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
