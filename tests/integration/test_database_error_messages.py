"""A database error that is a bug says what failed, never what was sent.

Its message holds the SQLSTATE, the driver's error class and the server's primary
message; the statement and its parameters (here a recognisable secret, as a
session key or a quote token would be) stay on ``__cause__`` for a debugger.
Real failing statements on the real server, through both of datm's paths: the
driver's cursor (the hot path) and SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from datm.adapters.postgres.errors import translated  # noqa: E402
from datm.adapters.postgres.transaction import Transaction  # noqa: E402
from datm.domain.errors import ProgrammingError  # noqa: E402

pytestmark = pytest.mark.postgres

SECRET = "sk-datm-secret-4f1c"


@pytest.fixture
def engine() -> Iterator[Engine]:
    with postgres_support.one_connection_engine() as engine:
        yield engine


def on_the_cursor(engine: Engine, statement: str) -> ProgrammingError:
    tx = Transaction(engine)
    try:
        with pytest.raises(ProgrammingError) as caught:
            tx.fetch(statement, {"secret": SECRET})
    finally:
        tx.release()
    return caught.value


def through_sqlalchemy(engine: Engine, statement: str) -> ProgrammingError:
    with (
        pytest.raises(ProgrammingError) as caught,
        translated(),
        engine.connect() as connection,
    ):
        connection.execute(text(statement.replace("%(secret)s", ":secret")), {"secret": SECRET})
    return caught.value


def assert_says_only_what_failed(error: ProgrammingError) -> None:
    assert SECRET not in error.message and SECRET not in repr(error.fields)
    assert "SELECT" not in error.message.upper()


Path = Callable[[Engine, str], ProgrammingError]
PATHS: list[Path] = [on_the_cursor, through_sqlalchemy]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_the_message_holds_sqlstate_class_and_primary_message_only(
    engine: Engine, path: Path
) -> None:
    error = path(engine, "SELECT 1 / 0 WHERE %(secret)s <> ''")

    assert error.message == "database error 22012 DivisionByZero: division by zero"
    assert (error.fields["sqlstate"], error.fields["error_class"]) == ("22012", "DivisionByZero")
    assert_says_only_what_failed(error)


def test_the_statement_and_its_parameters_stay_on_the_cause(engine: Engine) -> None:
    error = through_sqlalchemy(engine, "SELECT 1 / 0 WHERE %(secret)s <> ''")

    cause = error.__cause__
    assert isinstance(cause, DBAPIError)
    assert cause.params == {"secret": SECRET} and "1 / 0" in str(cause.statement)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_a_value_the_server_quotes_back_is_left_out(engine: Engine, path: Path) -> None:
    """psycopg2 sends parameters as literals; a data exception quotes the value."""
    error = path(engine, "SELECT CAST(%(secret)s AS int)")

    assert error.message == (
        "database error 22P02 InvalidTextRepresentation: "
        'invalid input syntax for type integer: "..."'
    )
    assert_says_only_what_failed(error)


def test_a_syntax_error_at_a_literal_leaves_the_literal_out(engine: Engine) -> None:
    error = on_the_cursor(engine, "SELECT 1 %(secret)s")

    assert error.message.startswith("database error 42601 SyntaxError: syntax error at or near")
    assert_says_only_what_failed(error)


def test_identifiers_the_server_names_are_kept(engine: Engine) -> None:
    """Only literals are left out: the table or column that was wrong is the clue."""
    error = on_the_cursor(engine, "SELECT no_such_column FROM pg_class WHERE %(secret)s <> ''")

    assert error.message == (
        'database error 42703 UndefinedColumn: column "no_such_column" does not exist'
    )
