"""``datm db history``, ``check`` and ``--sql``, on scratch databases of the real server.

Exit statuses: 0 done (``check``: current), 1 a finding (``check``: behind, ahead
or different), 2 could not run. No output ever holds the URL's password: the test
server trusts loopback, so a URL with a password connects and every line a
command prints on the way can be searched for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from click.testing import CliRunner, Result  # noqa: E402
from sqlalchemy import create_engine, inspect, pool  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.cli import main  # noqa: E402

pytestmark = pytest.mark.postgres

PASSWORD = "pw-hunter2-never-echoed"
HEAD = migrate.head()
NEWEST_FIRST = [revision.id for revision in migrate.history()]


@pytest.fixture
def url() -> Iterator[str]:
    """A scratch database's URL, with a password the (trusting) server ignores."""
    with postgres_support.fresh_database("datm_db_cli") as plain:
        yield make_url(plain).set(password=PASSWORD).render_as_string(hide_password=False)


def datm(*args: str, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner(env={"DATM_DATABASE_URL": None, **(env or {})}).invoke(main, list(args))
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output
    return result


def tables(url: str) -> set[str]:
    engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- history --------------------------------------------------------------------


def test_history_without_a_database_lists_every_revision_newest_first() -> None:
    result = datm("db", "history")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == NEWEST_FIRST
    assert lines[0].startswith(f"{HEAD}  (head)")
    assert "current" not in result.stdout


def test_history_marks_the_revision_the_database_is_at(url: str) -> None:
    migrate.upgrade(url, "0005")

    result = datm("db", "history", env={"DATM_DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    (marked,) = [line for line in result.stdout.splitlines() if "current" in line]
    assert marked.startswith("0005  (current)")


def test_history_of_an_unreachable_database_still_lists_and_says_why_on_stderr() -> None:
    result = datm("db", "history", "--url", f"postgresql://x:{PASSWORD}@127.0.0.1:1/x")

    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(NEWEST_FIRST)
    assert "current revision unknown" in result.stderr and "refused at 127.0.0.1:1" in result.stderr


# --- check ------------------------------------------------------------------------


def test_check_of_a_database_at_head_exits_0(url: str) -> None:
    migrate.upgrade(url)

    result = datm("db", "check", "--url", url)

    assert result.exit_code == 0, result.output
    assert f"at revision {HEAD}" in result.stdout and "current" in result.stdout


@pytest.mark.parametrize(
    ("revision", "said"),
    [
        ("0005", f"is at revision 0005, this datm needs revision {HEAD}: run `datm db upgrade`"),
        (None, "was never migrated, this datm needs"),
    ],
    ids=["behind", "never-migrated"],
)
def test_check_of_a_database_behind_exits_1_saying_run_datm_db_upgrade(
    url: str, revision: str | None, said: str
) -> None:
    if revision:
        migrate.upgrade(url, revision)

    result = datm("db", "check", "--url", url)

    assert result.exit_code == 1, result.output
    assert said in result.stdout


def test_check_of_a_database_ahead_exits_1_saying_datm_is_older(url: str) -> None:
    migrate.upgrade(url)
    postgres_support.execute(url, "UPDATE alembic_version SET version_num = '0099_future'")

    result = datm("db", "check", "--url", url)

    assert result.exit_code == 1, result.output
    assert "this datm is older than the database" in result.stdout


def test_check_of_a_schema_changed_by_hand_exits_1_listing_each_difference(url: str) -> None:
    migrate.upgrade(url)
    postgres_support.execute(url, "ALTER TABLE players ADD COLUMN nickname text")
    postgres_support.execute(url, "DROP INDEX ix_trades_at")

    result = datm("db", "check", "--url", url)

    assert result.exit_code == 1, result.output
    assert "schema differs from this datm's (2)" in result.stdout
    assert "  remove_column players.nickname" in result.stdout
    assert "  add_index trades.ix_trades_at" in result.stdout


@pytest.mark.parametrize(
    ("target", "said"),
    [
        (f"postgresql://x:{PASSWORD}@127.0.0.1:1/x", "refused at 127.0.0.1:1"),
        (f"mysql://x:{PASSWORD}@127.0.0.1/x", "datm needs PostgreSQL"),
        (f"postgresql://datm_no_such_role:{PASSWORD}@127.0.0.1:5432/x", 'no role "datm_no_such'),
        ("not a url at all", "is not a URL"),
    ],
    ids=["unreachable", "not-postgres", "no-role", "garbage"],
)
def test_check_that_cannot_check_exits_2_in_one_line(target: str, said: str) -> None:
    result = datm("db", "check", "--url", target)

    assert result.exit_code == 2, result.output
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_without_a_database_url_exits_2_naming_datm_database_url() -> None:
    result = datm("db", "check")

    assert result.exit_code == 2
    assert "DATM_DATABASE_URL" in result.output


# --- --sql: the SQL, without connecting ---------------------------------------------


def test_upgrade_sql_prints_every_revision_and_connects_to_nothing(url: str) -> None:
    """The environment's URL is left unread: ``--sql`` runs without a database."""
    unreachable = f"postgresql://x:{PASSWORD}@127.0.0.1:1/x"

    result = datm("db", "upgrade", "--sql", env={"DATM_DATABASE_URL": unreachable})

    assert result.exit_code == 0, result.output
    oldest_first = NEWEST_FIRST[::-1]
    for down, up in zip(["", *oldest_first], oldest_first, strict=False):
        assert f"Running upgrade {down} -> {up}" in result.stdout  # alembic's comments
    assert "CREATE TABLE players" in result.stdout
    assert result.stdout.rstrip().endswith("COMMIT;")


def test_upgrade_sql_from_a_revision_prints_only_what_follows_it() -> None:
    result = datm("db", "upgrade", "--sql", "--from", "0005")

    assert result.exit_code == 0, result.output
    assert "Running upgrade 0005 -> 0006" in result.stdout
    assert "Running upgrade 0004" not in result.stdout
    assert "CREATE TABLE players" not in result.stdout  # 0001's


def test_downgrade_sql_prints_the_steps_down_and_drops_nothing(url: str) -> None:
    migrate.upgrade(url)

    result = datm("db", "downgrade", "--sql", "--revision", "0005", "--url", url)

    assert result.exit_code == 0, result.output
    assert "Running downgrade 0008 -> 0007" in result.stdout
    assert "Running downgrade 0007 -> 0006" in result.stdout
    assert "Running downgrade 0006 -> 0005" in result.stdout
    assert migrate.current(url) == HEAD


def test_from_without_sql_is_a_usage_error() -> None:
    result = datm("db", "upgrade", "--from", "0005", "--url", "postgresql://x@127.0.0.1:1/x")

    assert result.exit_code == 2
    assert "--from goes with --sql" in result.output


def test_an_unknown_revision_with_sql_exits_2() -> None:
    result = datm("db", "upgrade", "--sql", "--revision", "no-such-revision")

    assert result.exit_code == 2
    assert "no-such-revision" in result.stderr


# --- upgrade and downgrade: what they say, and what they log ------------------------


def test_upgrade_says_each_revision_applied_and_where_the_database_is(url: str) -> None:
    migrate.upgrade(url, "0005")

    result = datm("db", "upgrade", "--url", url)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines[:7]] == [
        "applied 0005 -> 0006",
        "applied 0006 -> 0007",
        "applied 0007 -> 0008",
        "applied 0008 -> 0009",
        "applied 0009 -> 0010",
        "applied 0010 -> 0011",
        "applied 0011 -> 0012",
    ]
    assert lines[7].startswith("the database ") and lines[7].endswith(f"is at revision {HEAD}")
    assert "127.0.0.1:5432" in lines[7]


def test_downgrade_says_each_revision_reverted(url: str) -> None:
    migrate.upgrade(url)

    result = datm("db", "downgrade", "--revision", "0006", "--url", url, "--yes")

    assert result.exit_code == 0, result.output
    reverted = [line.split(" (")[0] for line in result.stdout.splitlines()[:6]]
    assert reverted == [
        "reverted 0012 -> 0011",
        "reverted 0011 -> 0010",
        "reverted 0010 -> 0009",
        "reverted 0009 -> 0008",
        "reverted 0008 -> 0007",
        "reverted 0007 -> 0006",
    ]
    assert result.stdout.rstrip().endswith("is at revision 0006")


def test_each_migration_applied_is_logged_at_info_once_committed(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="datm"):
        migrate.upgrade(url, "0002")
        migrate.downgrade(url, "0001")

    mine = [r for r in caplog.records if r.name == "datm.adapters.postgres.migrate"]
    assert [r.levelno for r in mine] == [logging.INFO] * 3
    assert [r.getMessage().split(" (")[0] for r in mine] == [
        "applied migration base -> 0001",
        "applied migration 0001 -> 0002",
        "reverted migration 0002 -> 0001",
    ]
    assert all("127.0.0.1:5432" in r.getMessage() for r in mine)
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)


def test_the_migrations_configure_no_logging(url: str) -> None:
    """env.py is alembic's template without fileConfig: the program's logging stays."""
    loggers = ["", "alembic", "alembic.runtime.migration", "sqlalchemy", "datm"]
    before = [(logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in loggers]

    migrate.upgrade(url)

    after = [(logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in loggers]
    assert after == before
    assert tables(url) >= {"players", "alembic_version"}
