"""``datm db``: the game database's schema (PostgreSQL): migrate it, check it.

The database is ``--url`` or DATM_DATABASE_URL, the setting every datm program
reads. Nothing here prints a URL: a database is named by host, port and name.
"""

from __future__ import annotations

import click

from datm.cli import main
from datm.cli.console import log_options
from datm.cli.errors import database_url, hidden, postgres_extra, run
from datm.domain.errors import DatmError

URL_OPTION = click.option(
    "--url",
    default=None,
    metavar="URL",
    help="postgresql:// URL of the game database; defaults to DATM_DATABASE_URL.",
)
SQL_OPTION = click.option(
    "--sql",
    is_flag=True,
    help="Print the SQL the migration would run, without connecting to any database.",
)


@main.group()
def db() -> None:
    """The game database's schema (PostgreSQL): migrate it, check it.

    Exit status of every db command: 0 done; 1 a finding (check) or a downgrade
    not confirmed; 2 could not run (no or bad URL, the database unreachable or
    refusing, an unknown revision). No command prints a database password.
    """


@db.command()
@click.option("--revision", default="head", show_default=True, help="Revision to migrate to.")
@URL_OPTION
@SQL_OPTION
@click.option(
    "--from",
    "start",
    default=None,
    metavar="REVISION",
    help="With --sql: the revision the database is at (default: base, an empty database).",
)
@log_options
def upgrade(revision: str, url: str | None, sql: bool, start: str | None) -> None:
    """Migrate the game database up to a revision.

    Exit status: 0 done; 2 could not run (no or bad URL, the database unreachable
    or refusing, an unknown revision).
    """
    if sql:
        _print_sql("upgrade", revision, start)
        return
    if start is not None:
        raise click.UsageError("--from goes with --sql: a database says itself where it is")
    target = _url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    for step in run(lambda: migrate.upgrade(target, revision), target):
        click.echo(f"applied {step}")
    _say_current(target)


@db.command()
@click.option(
    "--revision",
    default="base",
    show_default=True,
    help="Revision to migrate to: base (drops every table), -1 (one step) or a revision id.",
)
@URL_OPTION
@click.option("--yes", is_flag=True, help="Do not ask before dropping tables and their data.")
@SQL_OPTION
@click.option(
    "--from",
    "start",
    default=None,
    metavar="REVISION",
    help="With --sql: the revision the database is at (default: head).",
)
@log_options
def downgrade(revision: str, url: str | None, yes: bool, sql: bool, start: str | None) -> None:
    """Migrate the game database down to a revision, dropping what later revisions made.

    Exit status: 0 done; 1 not confirmed; 2 could not run (no or bad URL, the
    database unreachable or refusing, an unknown revision).
    """
    if sql:
        _print_sql("downgrade", revision, start)
        return
    if start is not None:
        raise click.UsageError("--from goes with --sql: a database says itself where it is")
    target = _url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    if not yes:
        click.confirm(
            f"Downgrading to {revision} drops tables and the game data in them. Continue?",
            abort=True,
        )
    for step in run(lambda: migrate.downgrade(target, revision), target):
        click.echo(f"reverted {step}")
    _say_current(target)


@db.command()
@URL_OPTION
@log_options
def current(url: str | None) -> None:
    """Print the game database's revision (base when never migrated).

    Exit status: 0 done; 2 could not run (no or bad URL, the database unreachable
    or refusing).
    """
    target = _url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate

    revision = run(lambda: migrate.current(target), target)
    head = migrate.head()
    note = "" if revision == head else f" (head is {head})"
    click.echo(f"{revision or 'base'}{note}")


@db.command()
@URL_OPTION
@log_options
def history(url: str | None) -> None:
    """List the revisions this datm ships, newest first; with a database (--url or
    DATM_DATABASE_URL) mark the one it is at.

    Exit status: 0, also when the database cannot be read (said on stderr: the
    list is printed anyway); 2 without the postgres extra.
    """
    try:
        target = database_url(url, required=False)
    except click.UsageError as error:  # a bad DATM_* setting: the list needs none
        click.echo(f"current revision unknown: {error.message}", err=True)
        target = None
    with postgres_extra():
        from datm.adapters.postgres import migrate

    at: set[str] | None = None
    if target:
        try:
            at = set(migrate.current_revisions(target))
        except DatmError as error:
            click.echo(f"current revision unknown: {hidden(str(error), target)}", err=True)
    head = migrate.head()
    for revision in migrate.history():
        marks = [
            mark
            for mark, on in (("head", revision.id == head), ("current", revision.id in (at or ())))
            if on
        ]
        shown = f"({', '.join(marks)})" if marks else ""
        click.echo(f"{revision.id}  {shown:<16} {revision.doc}".rstrip())
    if at is not None and not at:
        click.echo("(the database was never migrated: it is at base)")
    for unknown in sorted((at or set()) - migrate.revision_ids()):
        click.echo(f"(the database is at {unknown}, unknown to this datm: a newer one migrated it)")


@db.command()
@URL_OPTION
@log_options
@click.pass_context
def check(ctx: click.Context, url: str | None) -> None:
    """Check that the game database's schema is the one this datm needs: at the
    head revision, and no difference alembic's autogenerate would see.

    Exit status: 0 current; 1 behind (run `datm db upgrade`), ahead (this datm is
    older than the database) or different (each difference is printed); 2 could
    not check (no or bad URL, the database unreachable or refusing).
    """
    target = _url(url)
    with postgres_extra():
        from datm.adapters.postgres import migrate, schema_check

    where = run(lambda: migrate.where(target), target)
    problem = schema_check.refusal(run(lambda: migrate.current_revisions(target), target), where)
    if problem is not None:
        click.echo(problem.fields["problem"])
        ctx.exit(1)
    differences = run(lambda: migrate.schema_differences(target), target)
    if differences:
        click.echo(
            f"the database {where} is at revision {migrate.head()} but its schema differs "
            f"from this datm's ({len(differences)}):"
        )
        for difference in differences:
            click.echo(f"  {migrate.describe_difference(difference)}")
        ctx.exit(1)
    click.echo(f"the database {where} is at revision {migrate.head()}, this datm's: current")


def _url(url: str | None) -> str:
    target = database_url(url)
    assert target is not None  # required: a usage error otherwise
    return target


def _say_current(url: str) -> None:
    from datm.adapters.postgres import migrate

    where = run(lambda: migrate.where(url), url)
    click.echo(
        f"the database {where} is at revision {run(lambda: migrate.current(url), url) or 'base'}"
    )


def _print_sql(direction: str, revision: str, start: str | None) -> None:
    with postgres_extra():
        from datm.adapters.postgres import migrate

    click.echo(run(lambda: migrate.sql(direction, revision, start)), nl=False)
