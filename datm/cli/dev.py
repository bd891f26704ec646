"""``datm dev``: for developers: a generated game, at any size, in a scratch database.

``dev seed`` exits 0 when the game is written, 2 when it did not run (bad options,
no database or one not at the head revision, a game already there without
``--replace``): then nothing was written, the seed being one transaction (and a
VACUUM after it).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datm.cli import main
from datm.cli.console import CommandError, log_options, stderr
from datm.cli.db import URL_OPTION
from datm.cli.errors import database_url, hidden
from datm.domain.errors import DatmError

if TYPE_CHECKING:
    from datm.adapters.postgres.seed import SeedReport

INTERRUPTED = 130  # the shell's code for SIGINT
TABLES = ("players", "artists", "holdings", "trades", "ledger", "history", "trophies", "closes")


@main.group()
def dev() -> None:
    """For developers: a generated game to try datm on, at any size."""


@dev.command("seed")
@click.option("--players", default=1_000, show_default=True, type=click.IntRange(1, 10_000_000))
@click.option("--artists", default=200, show_default=True, type=click.IntRange(1, 10_000_000))
@click.option("--holdings", default=1_500, show_default=True, type=click.IntRange(0, 100_000_000))
@click.option(
    "--days",
    default=4,
    show_default=True,
    type=click.IntRange(0, 365),
    help="Closed days of history: the days before today (UTC), so today's close can run.",
)
@click.option(
    "--round-trips",
    default=0.8,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Extra trades: buy-and-sell pairs within a trading day, per holding.",
)
@click.option(
    "--seed",
    "seed_value",
    default=1,
    show_default=True,
    type=click.IntRange(0, 2**31 - 1),
    help="The same seed (on the same day) makes the same game, row for row.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Empty the game first: every table but leagues, server_secrets and alembic_version.",
)
@URL_OPTION
@log_options
@click.pass_context
def seed(
    ctx: click.Context,
    players: int,
    artists: int,
    holdings: int,
    days: int,
    round_trips: float,
    seed_value: int,
    replace: bool,
    url: str | None,
) -> None:
    """Fill the game database (migrated with `datm db upgrade`, and empty) with a
    generated, consistent game: players, artists, holdings, trades, the ledger,
    history and closes. Full size: --players 1200000 --artists 100000 --holdings 1000000.

    Exit status: 0 written; 2 not run (nothing written).
    """
    target = database_url(url)
    assert target is not None  # required: a usage error otherwise
    try:
        from datm.adapters.postgres import seed as seeding
    except ImportError as error:
        raise CommandError(
            f"datm dev seed needs the postgres extra ({error}): pip install 'datm[postgres]'"
        ) from error

    options = seeding.SeedOptions(players, artists, holdings, days, seed_value, round_trips)
    bar = _Bar(stderr(ctx), len(seeding.PARTS))
    try:
        with bar:
            report = seeding.seed(target, options, replace=replace, on_part=bar)
    except seeding.GameNotEmpty as full:
        raise CommandError(
            f"{hidden(full.message, target)}: seed an empty game, or pass --replace to empty it"
        ) from full
    except DatmError as error:
        raise CommandError(hidden(str(error), target)) from error
    except KeyboardInterrupt:
        if bar.part == "vacuum":
            stderr(ctx).print("interrupted: the game is written, but not yet vacuumed")
        else:
            stderr(ctx).print("interrupted: nothing was written (the seed is one transaction)")
        sys.exit(INTERRUPTED)
    out = Console()
    for table in _summary(report):
        out.print(table)
    closes = (
        f"closed {report.first_day + timedelta(days=1)} to {report.last_close}"
        if report.last_close is not None
        else "never closed"
    )
    out.print(
        f"seeded {report.database} in {report.seconds:.1f} s: "
        f"listed on {report.first_day}, {closes}",
        highlight=False,
    )


class _Bar:
    """The parts of the seed as they run; drawn from the first part on, so that a
    seed refused before it starts prints its error alone."""

    def __init__(self, console: Console, parts: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the summary is the record
        )
        self._task = self._progress.add_task("", total=parts)
        self._started = False
        self.part = ""  # the part running

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def __call__(self, index: int, part: str) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        self.part = part
        self._progress.update(self._task, completed=index, description=part)


def _summary(report: SeedReport) -> list[Table]:
    counts = Table(title="rows written", box=box.SIMPLE)
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for table in TABLES:
        counts.add_row(table, f"{report.counts.get(table, 0):,}")
    parts = Table(title="time", box=box.SIMPLE)
    parts.add_column("part")
    parts.add_column("seconds", justify="right")
    for part in report.parts:
        parts.add_row(part.name, f"{part.seconds:.1f}")
    parts.add_row("total", f"{report.seconds:.1f}", style="bold")
    return [counts, parts]
