"""The ``datm`` command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from rich.console import Console

from datm.demo import DemoOptions, run_demo
from datm.domain.errors import DatmError
from datm.settings import Settings

T = TypeVar("T")


@click.group()
def main() -> None:
    """datm: the data-access and domain library of Scrobble Exchange."""


@main.command()
@click.option("--players", default=12, show_default=True, type=click.IntRange(1, 200))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option("--days", default=3, show_default=True, type=click.IntRange(1, 30))
@click.option(
    "--trades",
    default=25,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Trades per player per day.",
)
@click.option("--seed", default=7, show_default=True, type=int)
def demo(players: int, threads: int, days: int, trades: int, seed: int) -> None:
    """Simulate trading days on the in-memory store and check the ledger."""
    options = DemoOptions(players, threads, days, trades, seed)
    sys.exit(run_demo(options, Console()))


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
    target = _database_url(url)
    with _postgres_extra():
        from datm.adapters.postgres import migrate

    _run(lambda: migrate.upgrade(target, revision))
    click.echo(f"database at revision {_run(lambda: migrate.current(target)) or 'base'}")


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
    target = _database_url(url)
    with _postgres_extra():
        from datm.adapters.postgres import migrate

    if not yes:
        click.confirm(
            f"Downgrading to {revision} drops tables and the game data in them. Continue?",
            abort=True,
        )
    _run(lambda: migrate.downgrade(target, revision))
    click.echo(f"database at revision {_run(lambda: migrate.current(target)) or 'base'}")


@db.command()
@URL_OPTION
def current(url: str | None) -> None:
    """Print the game database's revision (base when never migrated)."""
    target = _database_url(url)
    with _postgres_extra():
        from datm.adapters.postgres import migrate

    revision = _run(lambda: migrate.current(target))
    head = migrate.head()
    note = "" if revision == head else f" (head is {head})"
    click.echo(f"{revision or 'base'}{note}")


@contextmanager
def _postgres_extra() -> Iterator[None]:
    try:
        yield
    except ImportError as error:
        raise click.ClickException(
            f"the db commands need the postgres extra ({error}): pip install 'datm[postgres]'"
        ) from error


def _database_url(url: str | None) -> str:
    if url:
        return url
    try:
        configured = Settings.load(None).database_url
    except DatmError as error:
        raise click.UsageError(str(error)) from error
    if not configured:
        raise click.UsageError("no database: set DATM_DATABASE_URL or pass --url")
    return configured


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except DatmError as error:
        raise click.ClickException(str(error)) from error


if __name__ == "__main__":
    main()
