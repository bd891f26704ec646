"""The ``datm`` command: one click group, its commands in modules of their own."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from datm.demo import DemoOptions, run_demo


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


# Imported for their commands, which register themselves on ``main``.
from datm.cli import db, fake_lastfm  # noqa: E402

__all__ = ["db", "fake_lastfm", "main"]

if __name__ == "__main__":
    main()
