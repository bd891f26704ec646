"""``datm db``: the game database's schema (PostgreSQL)."""

from __future__ import annotations

import click

from datm.cli import main
from datm.cli.errors import database_url, postgres_extra, run

URL_OPTION = click.option(
    "--url",
    default=None,
    metavar="URL",
    help="postgresql:// URL of the game database; defaults to DATM_DATABASE_URL.",
)


@main.group()
def db() -> None:
    """Migrate the game database's schema (PostgreSQL)."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Revision to migrate to.")
@URL_OPTION
def upgrade(revision: str, url: str | None) -> None:
    """Migrate the game database up to a revision."""
    target = database_url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    run(lambda: migrate.upgrade(target, revision))
    click.echo(f"database at revision {run(lambda: migrate.current(target)) or 'base'}")


@db.command()
@click.option(
    "--revision",
    default="base",
    show_default=True,
    help="Revision to migrate to: base (drops every table), -1 (one step) or a revision id.",
)
@URL_OPTION
@click.option("--yes", is_flag=True, help="Do not ask before dropping tables and their data.")
def downgrade(revision: str, url: str | None, yes: bool) -> None:
    """Migrate the game database down to a revision, dropping what later revisions made."""
    target = database_url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    if not yes:
        click.confirm(
            f"Downgrading to {revision} drops tables and the game data in them. Continue?",
            abort=True,
        )
    run(lambda: migrate.downgrade(target, revision))
    click.echo(f"database at revision {run(lambda: migrate.current(target)) or 'base'}")


@db.command()
@URL_OPTION
def current(url: str | None) -> None:
    """Print the game database's revision (base when never migrated)."""
    target = database_url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    revision = run(lambda: migrate.current(target))
    head = migrate.head()
    note = "" if revision == head else f" (head is {head})"
    click.echo(f"{revision or 'base'}{note}")
