"""The ``datm`` command: one click group, its commands in modules of their own.

Exit statuses: 0 done; 1 done with a finding (a close with failed artists, an
audit mismatch, a closed market for ``market status``); 2 bad input, refused, or
could not run (one ``Error:`` line on stderr, never a traceback for datm's errors).
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click
from rich.console import Console

from datm.cli.console import CommandError, install_logging, log_options
from datm.demo import DemoOptions, run_demo
from datm.domain.errors import DatmError

CONTEXT = {"help_option_names": ["-h", "--help"]}  # inherited by every subcommand


class DatmGroup(click.Group):
    """A group whose commands end in one line, not a traceback, on any datm error
    that they did not turn into their own message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatmError as error:
            raise CommandError(str(error)) from error


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    try:
        shown = version("datm")  # the installed distribution's, not a constant to forget
    except PackageNotFoundError:
        shown = "(not installed)"
    click.echo(f"datm {shown}")
    ctx.exit()


@click.group(cls=DatmGroup, context_settings=CONTEXT)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Print datm's version and exit.",
)
@log_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """datm: the data-access and domain library of Scrobble Exchange.

    Settings come from the DATM_* environment (DATM_DATABASE_URL: the game's
    database; unset, an in-memory store of this process).
    """
    install_logging(ctx)


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
from datm.cli import audit, db, dev, fake_lastfm, leaderboard, market  # noqa: E402

__all__ = ["audit", "db", "dev", "fake_lastfm", "leaderboard", "main", "market"]

if __name__ == "__main__":
    main()
