"""``datm market``: is the market open, who holds its lock; run the daily close.

``market status`` exits 0 when the market is open, 1 when it is closed (a close
holds the lock or waits for it), 2 when it cannot tell: like ``grep``, so that a
script can wait with ``until datm market status >/dev/null; do sleep 10; done``
and still tell a closed market from a broken configuration.

``market close`` shows a bar per step of the close (the cut-off, numbers
fetched, artists paid) with the time left, then a summary. It exits 0 when the
day is closed (now or before) and every artist had fresh numbers; 1 when it ran
with a finding: artists kept their previous numbers (last.fm had none for them;
they are listed with the reason), or the close is not finished (last.fm failed
for too long: run it again, it resumes); 2 when it did not run: a bad day, the
market lock busy, a setting or the database wrong, or the close stopped on an
error (run it again: it resumes).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import click
from rich.console import Console

from datm.cli import main
from datm.cli.close_view import CloseBar, seconds, summary
from datm.cli.console import CommandError, game, log_options, stderr, store_of
from datm.domain.errors import DataError, DatmError, MarketLockBusy
from datm.services.analytics import AnalyticsService
from datm.services.close import CloseService
from datm.services.results import MarketLockHolder

INTERRUPTED = 130  # the shell's code for SIGINT


@main.group()
def market() -> None:
    """The market: its state and the daily close."""


@market.command()
@log_options
def status() -> None:
    """Say whether the market is open and, if not, who holds its lock.

    Exit status: 0 open, 1 closed, 2 cannot tell.
    """
    with game() as (injector, settings):
        state = injector.get(AnalyticsService).market_status()
    click.echo(f"store: {store_of(settings)}")
    if state.open or state.holder is None:
        click.echo("market: open")
        sys.exit(0)
    holder = state.holder
    if holder.waiting:
        click.echo("market: closing (a close waits for trades in flight; trading is refused)")
    else:
        click.echo("market: closed (the market lock is held; trading is refused)")
    for line in describe(holder):
        click.echo(line)
    sys.exit(1)


def describe(holder: MarketLockHolder) -> list[str]:
    process = f"pid {holder.pid}" if holder.pid is not None else "a process"
    where = f" on {holder.host}" if holder.host else ""
    lines = [f"held by: {process}{where}"]
    if holder.application:
        lines.append(f"application: {holder.application}")
    if holder.backend_pid is not None:
        lines.append(f"postgres backend pid: {holder.backend_pid}")
    if holder.since is not None:
        ago = seconds(max(0.0, (datetime.now(UTC) - holder.since).total_seconds()))
        lines.append(f"since: {holder.since:%Y-%m-%d %H:%M:%S} UTC ({ago} ago)")
    return lines


@market.command("close")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="The day to close (UTC); default today.",
)
@log_options
@click.pass_context
def close(ctx: click.Context, day: datetime | None) -> None:
    """Run the daily close: fix the holders of record at a short cut-off (trading
    refused), fetch fresh last.fm numbers (trading goes on), pay points and dividends.

    Exit status: 0 closed (or already closed); 1 ran with a finding: artists kept
    their previous numbers (listed), or not finished because last.fm failed for too
    long (run it again: it resumes and pays nobody twice); 2 bad input, refused
    (the market lock busy), could not run, or stopped on an error (run it again).
    """
    target: date | None = day.date() if day is not None else None
    console = stderr(ctx)
    with game() as (injector, settings):
        console.print(f"closing {target or 'today'} on {store_of(settings)}", highlight=False)
        service = injector.get(CloseService)
        bar = CloseBar(console)
        try:
            with bar:
                report = service.run(day=target, on_step=bar)
                bar.end(report)
        except MarketLockBusy as busy:
            raise CommandError(
                f"refused: {busy.message} (`datm market status` says who holds it)"
            ) from busy
        except DataError as bad:  # a future day, a day before the latest close
            raise CommandError(bad.message) from bad
        except DatmError as error:
            if not bar.days:  # before any cut-off: the close did not run
                raise
            raise CommandError(
                f"the close stopped: {error}; run it again to finish (it resumes and pays "
                "nobody twice)"
            ) from error
        except KeyboardInterrupt:
            console.print("interrupted: the market is open again; run the close again to finish")
            sys.exit(INTERRUPTED)
    out = Console()
    if report.already_closed:
        out.print(f"{report.day} already closed: nothing to do", highlight=False)
        sys.exit(0)
    for table in summary(report, bar.days):
        out.print(table)
    sys.exit(0 if report.finished and not report.failed else 1)
