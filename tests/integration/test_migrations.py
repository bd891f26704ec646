"""Alembic migrations shipped in the package, on the real PostgreSQL server.

Every test migrates a database of its own, created empty for it and dropped
after (``postgres_support.fresh_database``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from click.testing import CliRunner  # noqa: E402
from sqlalchemy import Connection, Engine, create_engine, inspect, pool, text  # noqa: E402
from sqlalchemy.exc import IntegrityError  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.adapters.postgres.errors import DatabaseUnavailable  # noqa: E402
from datm.adapters.postgres.tables import metadata  # noqa: E402
from datm.cli import main  # noqa: E402
from datm.domain.errors import ConfigurationError, InvalidInput  # noqa: E402
from datm.domain.leagues import SEEDED_LEAGUES  # noqa: E402

pytestmark = pytest.mark.postgres

DATM_TABLES = set(metadata.tables)


@pytest.fixture
def empty_url() -> Iterator[str]:
    with postgres_support.fresh_database("datm_migrations") as url:
        yield url


@pytest.fixture
def migrated_url(empty_url: str) -> str:
    migrate.upgrade(empty_url)
    return empty_url


@contextmanager
def engine_on(url: str) -> Iterator[Engine]:
    engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    with engine_on(url) as engine:
        return set(inspect(engine).get_table_names())


def leagues_in(url: str) -> list[tuple[str, str, int]]:
    with engine_on(url) as engine, engine.connect() as connection:
        rows = connection.execute(text("SELECT uid, name, rank FROM leagues ORDER BY rank"))
        return [(row.uid, row.name, row.rank) for row in rows]


SEEDED = [(league.uid, league.name, league.rank) for league in SEEDED_LEAGUES]


# --- upgrade and downgrade --------------------------------------------------


def test_upgrade_on_an_empty_database_creates_every_table_and_seeds_the_leagues(
    empty_url: str,
) -> None:
    assert table_names(empty_url) == set()

    migrate.upgrade(empty_url)

    assert table_names(empty_url) == DATM_TABLES | {"alembic_version"}
    assert (
        leagues_in(empty_url)
        == SEEDED
        == [
            ("bronze", "Bronze", 1),
            ("silver", "Silver", 2),
            ("gold", "Gold", 3),
        ]
    )


def test_upgraded_schema_matches_the_mapping_as_autogenerate_sees_it(migrated_url: str) -> None:
    assert migrate.schema_differences(migrated_url) == []


def test_empty_database_differs_from_the_mapping_by_every_table(empty_url: str) -> None:
    """The comparison is not vacuous: before the upgrade it sees every table missing."""
    added = {
        diff[1].name for diff in migrate.schema_differences(empty_url) if diff[0] == "add_table"
    }

    assert added == DATM_TABLES


def test_upgraded_schema_has_exactly_the_columns_constraints_and_indexes_of_create_all(
    migrated_url: str,
) -> None:
    """Autogenerate does not compare check constraints; the catalogue does, with their names."""
    with postgres_support.fresh_database("datm_create_all") as reference_url:
        with engine_on(reference_url) as engine:
            metadata.create_all(engine)
        expected = catalogue(reference_url)

    migrated = catalogue(migrated_url)

    for part in ("columns", "constraints", "indexes"):
        assert migrated[part] == expected[part], part
    constraint_names = {name for _table, name, _kind, _definition in migrated["constraints"]}
    assert {
        "pk_holdings",
        "ck_players_money_not_negative",
        "ck_artists_price_at_least_one",
        "ck_artists_remaining_not_negative",
        "fk_trades_player_players",
    } <= constraint_names


def catalogue(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """The public schema's columns, constraints and indexes, without alembic's table."""
    queries = {
        "columns": """
            SELECT table_name, column_name, ordinal_position, data_type,
                   character_maximum_length, collation_name, is_nullable, column_default
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name <> 'alembic_version'""",
        "constraints": """
            SELECT c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid)
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relname <> 'alembic_version'""",
        "indexes": """
            SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename <> 'alembic_version'""",
    }
    with engine_on(url) as engine, engine.connect() as connection:
        return {
            part: {tuple(row) for row in connection.execute(text(query))}
            for part, query in queries.items()
        }


def test_upgrade_twice_changes_nothing(migrated_url: str) -> None:
    migrate.upgrade(migrated_url)

    assert migrate.current(migrated_url) == migrate.head()
    assert leagues_in(migrated_url) == SEEDED


def test_downgrade_to_base_leaves_no_datm_tables(migrated_url: str) -> None:
    migrate.downgrade(migrated_url)

    assert table_names(migrated_url) <= {"alembic_version"}
    assert migrate.current(migrated_url) is None


def test_upgrade_after_downgrade_restores_the_schema_and_the_leagues(migrated_url: str) -> None:
    migrate.downgrade(migrated_url, "base")
    migrate.upgrade(migrated_url, "head")

    assert table_names(migrated_url) == DATM_TABLES | {"alembic_version"}
    assert migrate.schema_differences(migrated_url) == []
    assert leagues_in(migrated_url) == SEEDED


def test_current_is_none_before_upgrade_and_head_after(empty_url: str) -> None:
    assert migrate.current(empty_url) is None

    migrate.upgrade(empty_url)

    assert migrate.current(empty_url) == migrate.head() == "0012"


def test_driver_qualified_url_works_as_well_as_the_plain_one(empty_url: str) -> None:
    qualified = migrate.normalise_url(empty_url)
    assert qualified.startswith("postgresql+psycopg2://")

    migrate.upgrade(qualified)

    assert migrate.current(empty_url) == migrate.head()


def test_unknown_revision_raises_invalid_input_and_changes_nothing(empty_url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        migrate.upgrade(empty_url, "no-such-revision")

    assert caught.value.fields["field"] == "revision"
    assert table_names(empty_url) == set()


def test_non_postgres_url_raises_a_configuration_error_naming_database_url() -> None:
    with pytest.raises(ConfigurationError) as caught:
        migrate.upgrade("sqlite:///game.db")

    assert caught.value.fields["setting"] == "DATABASE_URL"


def test_unreachable_server_raises_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable):
        migrate.current("postgresql://postgres@127.0.0.1:1/nothing")


# --- the datm db command ----------------------------------------------------


def test_cli_upgrade_then_current_reports_the_head(empty_url: str) -> None:
    runner = CliRunner()

    upgraded = runner.invoke(main, ["db", "upgrade", "--url", empty_url])
    reported = runner.invoke(main, ["db", "current", "--url", empty_url])

    assert upgraded.exit_code == 0, upgraded.output
    assert f"revision {migrate.head()}" in upgraded.output
    assert reported.exit_code == 0, reported.output
    assert reported.output.strip() == migrate.head()
    assert migrate.schema_differences(empty_url) == []


def test_cli_current_of_a_never_migrated_database_is_base(empty_url: str) -> None:
    result = CliRunner().invoke(main, ["db", "current", "--url", empty_url])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("base")


def test_cli_takes_the_url_from_datm_database_url(empty_url: str) -> None:
    result = CliRunner(env={"DATM_DATABASE_URL": empty_url}).invoke(main, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert migrate.current(empty_url) == migrate.head()


def test_cli_upgrade_without_a_database_url_exits_naming_datm_database_url() -> None:
    result = CliRunner(env={"DATM_DATABASE_URL": None}).invoke(main, ["db", "upgrade"])

    assert result.exit_code != 0
    assert "DATM_DATABASE_URL" in result.output


def test_cli_downgrade_asks_first_and_keeps_the_tables_when_refused(migrated_url: str) -> None:
    refused = CliRunner().invoke(main, ["db", "downgrade", "--url", migrated_url], input="n\n")

    assert refused.exit_code != 0
    assert table_names(migrated_url) == DATM_TABLES | {"alembic_version"}


def test_cli_downgrade_with_yes_drops_the_tables(migrated_url: str) -> None:
    result = CliRunner().invoke(
        main, ["db", "downgrade", "--revision", "base", "--url", migrated_url, "--yes"]
    )

    assert result.exit_code == 0, result.output
    assert "revision base" in result.output
    assert table_names(migrated_url) <= {"alembic_version"}


def test_cli_reports_an_unreachable_database_without_a_traceback() -> None:
    result = CliRunner().invoke(
        main, ["db", "upgrade", "--url", "postgresql://postgres@127.0.0.1:1/nothing"]
    )

    assert result.exit_code == 2  # could not run (datm.cli's exit statuses)
    assert "cannot be reached" in result.output
    assert "refused at 127.0.0.1:1" in result.output
    assert "Traceback" not in result.output


# --- the database guards the invariants -------------------------------------

MBID = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"


@pytest.fixture(scope="module")
def game_database() -> Iterator[Engine]:
    """A migrated database holding one player, one artist and one holding of it."""
    with postgres_support.fresh_database("datm_invariants") as url:
        migrate.upgrade(url)
        with engine_on(url) as engine:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO players (name, league, money, created_at) "
                        "VALUES ('ada', 'bronze', 100, now())"
                    )
                )
                connection.execute(
                    text(
                        "INSERT INTO artists (mbid, name, price, max_shares, holders, "
                        "last_close_price, last_listeners, last_playcount, listed_on) "
                        "VALUES (:mbid, 'Artist', 10, 2, 1, 10, 1000, 5000, current_date)"
                    ),
                    {"mbid": MBID},
                )
                connection.execute(
                    text(
                        "INSERT INTO holdings (player, mbid, price_paid, since) "
                        "VALUES ('ada', :mbid, 10, now())"
                    ),
                    {"mbid": MBID},
                )
                connection.execute(
                    text(
                        "INSERT INTO trades (player, mbid, side, price, at, quote_id) "
                        "VALUES ('ada', :mbid, 'buy', 10, now(), 'q-1')"
                    ),
                    {"mbid": MBID},
                )
            yield engine


def artist_values(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "mbid": "5b11f4ce-a62d-471e-81fc-a69a8278c7da",
        "price": 10,
        "max_shares": 2,
        "holders": 0,
    }
    values.update(changes)
    return values


INSERT_ARTIST = (
    "INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price, "
    "last_listeners, last_playcount, listed_on) "
    "VALUES (:mbid, 'Other', :price, :max_shares, :holders, 10, 1, 1, current_date)"
)

VIOLATIONS = [
    pytest.param(
        "INSERT INTO players (name, league, money, created_at) VALUES ('bob', 'bronze', -1, now())",
        {},
        "23514",
        "ck_players_money_not_negative",
        id="negative-money",
    ),
    pytest.param(
        "UPDATE players SET money = money - 101 WHERE name = 'ada'",
        {},
        "23514",
        "ck_players_money_not_negative",
        id="overdrawn-money",
    ),
    pytest.param(
        "INSERT INTO holdings (player, mbid, price_paid, since) VALUES ('ada', :mbid, 12, now())",
        {"mbid": MBID},
        "23505",
        "pk_holdings",
        id="second-holding-of-an-artist",
    ),
    pytest.param(
        INSERT_ARTIST,
        artist_values(price=0),
        "23514",
        "ck_artists_price_at_least_one",
        id="price-0",
    ),
    pytest.param(
        INSERT_ARTIST,
        artist_values(holders=3, max_shares=2),
        "23514",
        "ck_artists_remaining_not_negative",
        id="holders-over-max-shares",
    ),
    pytest.param(
        "UPDATE artists SET holders = max_shares + 1 WHERE mbid = :mbid",
        {"mbid": MBID},
        "23514",
        "ck_artists_remaining_not_negative",
        id="oversold-artist",
    ),
    pytest.param(
        INSERT_ARTIST,
        artist_values(mbid=MBID.upper()),
        "23514",
        "ck_artists_mbid_canonical",
        id="upper-case-mbid",
    ),
    pytest.param(
        "INSERT INTO trades (player, mbid, side, price, at, quote_id) "
        "VALUES ('ada', :mbid, 'sell', 10, now(), 'q-1')",
        {"mbid": MBID},
        "23505",
        "ux_trades_quote_id",
        id="quote-used-twice",
    ),
    pytest.param(
        "INSERT INTO trades (player, mbid, side, price, at) "
        "VALUES ('ada', :mbid, 'hold', 10, now())",
        {"mbid": MBID},
        "23514",
        "ck_trades_side_known",
        id="unknown-trade-side",
    ),
    pytest.param(
        "INSERT INTO holdings (player, mbid, price_paid, since) VALUES ('nobody', :mbid, 1, now())",
        {"mbid": MBID},
        "23503",
        "fk_holdings_player_players",
        id="holding-of-unknown-player",
    ),
    pytest.param(
        "INSERT INTO players (name, league, money, created_at) VALUES ('cy', 'platinum', 1, now())",
        {},
        "23503",
        "fk_players_league_leagues",
        id="player-in-unknown-league",
    ),
]


@pytest.mark.parametrize(("statement", "values", "sqlstate", "constraint"), VIOLATIONS)
def test_database_refuses_a_write_that_breaks_an_invariant(
    game_database: Engine,
    statement: str,
    values: dict[str, object],
    sqlstate: str,
    constraint: str,
) -> None:
    with game_database.connect() as connection, pytest.raises(IntegrityError) as caught:
        _execute_and_roll_back(connection, statement, values)

    assert postgres_error_code(caught.value) == sqlstate
    assert postgres_constraint(caught.value) == constraint


def test_the_invariant_fixture_rows_are_valid_writes(game_database: Engine) -> None:
    """The refusals above come from the one bad value, not from a broken baseline."""
    with game_database.connect() as connection:
        _execute_and_roll_back(connection, INSERT_ARTIST, artist_values(holders=2))
        _execute_and_roll_back(connection, "UPDATE players SET money = 0 WHERE name = 'ada'", {})


def _execute_and_roll_back(
    connection: Connection, statement: str, values: dict[str, object]
) -> None:
    transaction = connection.begin()
    try:
        connection.execute(text(statement), values)
    finally:
        transaction.rollback()


def postgres_error_code(error: IntegrityError) -> str | None:
    code = getattr(error.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def postgres_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None
