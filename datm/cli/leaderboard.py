"""``datm leaderboard rebuild``: the leaderboards' read model built again from the database.

Exit status: 0 rebuilt (or nothing to rebuild), 2 could not run.
"""

from __future__ import annotations

import time

import click

from datm.cli import main
from datm.cli.console import game, log_options, stderr, store_of
from datm.services.leagues import LeagueService


@main.group()
def leaderboard() -> None:
    """The leaderboards' read model (Redis sorted sets)."""


@leaderboard.command()
@log_options
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Build the model again from the game database (readers use the database meanwhile).

    Run it after Redis lost its data, or after players were changed by hand; datm
    also rebuilds it by itself when a reader finds it out of date.
    """
    with game() as (injector, settings):
        if not settings.redis_url:
            stderr(ctx).print(
                "no REDIS_URL: the leaderboards are counted in the database; nothing to rebuild"
            )
            return
        stderr(ctx).print(f"rebuilding the leaderboards of {store_of(settings)}", highlight=False)
        started = time.monotonic()
        count = injector.get(LeagueService).rebuild()
    click.echo(f"leaderboards rebuilt: {count:,} players in {time.monotonic() - started:.1f} s")
