"""``datm audit``: every player's money recomputed from the ledger, every artist's shares.

Exit status: 0 everything agrees, 1 a mismatch (listed), 2 the audit could not run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich import box
from rich.console import Console
from rich.table import Table

from datm.cli import main
from datm.cli.console import game, log_options, stderr, store_of
from datm.services.audit import AuditReport, AuditService

LISTED = 20  # mismatches listed per kind; the rest are counted


@main.command()
@log_options
@click.pass_context
def audit(ctx: click.Context) -> None:
    """Check money against the ledger and holders against max shares.

    Exit status: 0 OK, 1 a mismatch, 2 could not run.
    """
    with game() as (injector, settings):
        stderr(ctx).print(f"auditing {store_of(settings)}", highlight=False)
        report = injector.get(AuditService).audit()
    out = Console()
    for table in tables(report):
        out.print(table)
    verdict = "OK" if report.ok else f"{len(report.money) + len(report.shares):,} mismatches"
    out.print(
        f"audit: {report.players:,} players, {report.artists:,} artists checked: {verdict}",
        highlight=False,
    )
    sys.exit(0 if report.ok else 1)


def tables(report: AuditReport) -> list[Table]:
    found = []
    if report.money:
        rows = [
            (m.player, f"{m.money:,}", f"{m.from_ledger:,}", f"{m.money - m.from_ledger:+,}")
            for m in report.money
        ]
        found.append(
            _table("money the ledger does not explain", ("player", "money", "ledger", "off"), rows)
        )
    if report.shares:
        rows = [
            (s.mbid, f"{s.holders:,}", f"{s.counted_holders:,}", f"{s.max_shares:,}")
            for s in report.shares
        ]
        columns = ("mbid", "holders", "holdings counted", "max shares")
        found.append(_table("shares that do not add up", columns, rows))
    return found


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE)
    for column in columns:
        table.add_column(column, justify="left" if column in ("player", "mbid") else "right")
    for row in rows[:LISTED]:
        table.add_row(*row)
    if len(rows) > LISTED:
        table.caption = f"and {len(rows) - LISTED:,} more"
    return table
