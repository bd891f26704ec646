"""The alembic environment shipped inside datm.

There is no alembic.ini: ``datm.adapters.postgres.migrate.alembic_config``
builds the configuration and sets ``sqlalchemy.url``. Online mode opens one
connection without a pool and runs every pending revision in one transaction
(PostgreSQL has transactional DDL, so a failed upgrade leaves nothing behind).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from datm.adapters.postgres.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
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
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                compare_type=True,
                compare_server_default=True,
                render_as_batch=False,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
