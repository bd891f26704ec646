"""A database not at this datm's head revision is refused at first use.

Through a real injector and a service call, on scratch databases: never migrated,
behind (0005, which used to serve silently), ahead (a revision a newer datm
wrote). The check runs once per engine, is retried while refused, and the
migrations themselves are not subject to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from injector import Injector  # noqa: E402
from sqlalchemy import Engine, create_engine, event, pool  # noqa: E402

from datm import create_injector  # noqa: E402
from datm.adapters.postgres import migrate, schema_check  # noqa: E402
from datm.adapters.postgres.quote_secret import StoredQuoteSecret  # noqa: E402
from datm.domain.errors import ConfigurationError, SchemaAhead, SchemaBehind  # noqa: E402
from datm.services.market import MarketService  # noqa: E402

pytestmark = pytest.mark.postgres

HEAD = migrate.head()


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_support.fresh_database("datm_schema_rev") as url:
        yield url


@contextmanager
def program(url: str) -> Iterator[Injector]:
    """An api process's injector on ``url``; its engine disposed of after."""
    injector = create_injector({"DATABASE_URL": url, "QUOTE_SECRET": "x" * 32}, environ={})
    try:
        yield injector
    finally:
        injector.get(Engine).dispose()


def test_a_database_at_an_older_revision_is_refused_with_run_datm_db_upgrade(url: str) -> None:
    migrate.upgrade(url, "0005")

    with program(url) as injector, pytest.raises(SchemaBehind) as refused:
        injector.get(MarketService).top_by_price()

    error = refused.value
    assert isinstance(error, ConfigurationError) and error.family == "programming"
    assert (error.revision, error.head) == ("0005", HEAD)
    assert f"is at revision 0005, this datm needs revision {HEAD}" in error.message
    assert "run `datm db upgrade`" in error.message
    assert "127.0.0.1:5432" in error.message


def test_a_database_never_migrated_is_refused_with_run_datm_db_upgrade(url: str) -> None:
    with program(url) as injector, pytest.raises(SchemaBehind) as refused:
        injector.get(MarketService).top_by_price()

    assert refused.value.revision is None
    assert "was never migrated" in refused.value.message
    assert "run `datm db upgrade`" in refused.value.message


def test_a_database_downgraded_to_base_counts_as_never_migrated(url: str) -> None:
    """alembic leaves its table behind, empty."""
    migrate.upgrade(url)
    migrate.downgrade(url, "base")

    with program(url) as injector, pytest.raises(SchemaBehind) as refused:
        injector.get(MarketService).top_by_price()

    assert refused.value.revision is None


def test_a_database_at_a_revision_this_datm_does_not_know_says_datm_is_older(url: str) -> None:
    migrate.upgrade(url)
    postgres_support.execute(url, "UPDATE alembic_version SET version_num = '0099_from_the_future'")

    with program(url) as injector, pytest.raises(SchemaAhead) as refused:
        injector.get(MarketService).top_by_price()

    assert refused.value.revision == "0099_from_the_future"
    assert "this datm is older than the database" in refused.value.message


def test_the_stored_quote_secret_is_refused_too(url: str) -> None:
    """Without QUOTE_SECRET the first quote reads server_secrets: checked first."""
    migrate.upgrade(url, "0005")
    engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
    try:
        with pytest.raises(SchemaBehind):
            StoredQuoteSecret(engine).get()
    finally:
        engine.dispose()


def test_a_refused_engine_serves_once_the_database_is_upgraded(url: str) -> None:
    """A refusal is not remembered: the next call checks again, so `datm db upgrade`
    heals running processes without a restart. The migrations themselves are not
    subject to the check (they run on a database that is behind)."""
    migrate.upgrade(url, "0005")
    with program(url) as injector:
        market = injector.get(MarketService)
        with pytest.raises(SchemaBehind):
            market.top_by_price()
        with pytest.raises(SchemaBehind):
            market.top_by_price()

        migrate.upgrade(url)

        assert market.top_by_price() == []


def test_the_check_runs_once_per_engine_not_per_call(url: str) -> None:
    migrate.upgrade(url)
    with program(url) as injector:
        engine = injector.get(Engine)
        statements: list[str] = []
        event.listen(
            engine, "before_cursor_execute", lambda _c, _k, sql, *_: statements.append(sql)
        )
        market = injector.get(MarketService)
        for _ in range(3):
            market.top_by_price()

        assert statements.count(schema_check.READ_VERSION) == 1
        assert schema_check.guard(engine).verified


def test_the_check_is_not_repeated_once_passed(url: str) -> None:
    """Once per engine: a database moved under a running process is the deployer's
    to handle (by restarting it); the hot path pays no query for it."""
    migrate.upgrade(url)
    with program(url) as injector:
        market = injector.get(MarketService)
        market.top_by_price()
        postgres_support.execute(url, "UPDATE alembic_version SET version_num = '0005'")

        assert market.top_by_price() == []
