"""The ``datm`` command."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
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


@main.command("fake-lastfm")
@click.option(
    "--recordings",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of VCR cassettes (YAML) to answer from.",
)
@click.option(
    "--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0: a free port."
)
@click.option(
    "--ca-out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the CA certificate (PEM) that clients must trust.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="127.0.0.1 or ::1.")
@click.option("--api-key", default="datm-fake-key", show_default=True)
@click.option("--api-secret", default="datm-fake-secret", show_default=True)
def fake_lastfm(
    recordings: Path, port: int, ca_out: Path, host: str, api_key: str, api_secret: str
) -> None:
    """Serve recorded last.fm answers over HTTPS until interrupted (Ctrl-C, SIGTERM).

    Point datm at it with DATM_LASTFM_URL (printed), DATM_LASTFM_CA_FILE (the
    --ca-out file), DATM_LASTFM_API_KEY and DATM_LASTFM_API_SECRET (the two above).
    A user allows the game at /api/auth/?api_key=K&token=T&user=NAME.
    """
    try:
        from datm.fake_lastfm import FakeLastfm
    except ImportError as error:
        raise click.ClickException(
            f"the fake last.fm needs the test extra ({error}): pip install 'datm[test]'"
        ) from error

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake = FakeLastfm(
        recordings, api_key=api_key, api_secret=api_secret, host=host, port=port, ca_file=ca_out
    )
    with fake:
        click.echo(f"fake last.fm at {fake.url} (CA certificate: {fake.ca_file})")
        sys.stdout.flush()
        while not stop.wait(0.2):  # a timed wait lets the signal handler run promptly
            pass
    click.echo("fake last.fm stopped")


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
