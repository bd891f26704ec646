"""Identifiers sort bytewise on any server (revision 0007), as Python's ``sorted()``.

The test database is made with a language's collation (ICU's en-US), under which
"alice" sorts before "Bob"; datm's key columns use "C", so a page of players and
the holders of an artist come in the same order as the in-memory backend's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from sqlalchemy import Engine  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory  # noqa: E402
from datm.domain.player import Player  # noqa: E402
from datm.settings import Settings  # noqa: E402

pytestmark = pytest.mark.postgres

LINGUISTIC = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
NAMES = ["alice", "Bob", "bob-2", "Zed", "_x", "Émile", "zoë", "Alice"]
NOW = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with postgres_support.fresh_database("datm_key_order", LINGUISTIC) as url:
        migrate.upgrade(url)
        engine = make_engine(Settings(database_url=url))
        try:
            yield engine
        finally:
            engine.dispose()


def test_the_database_itself_sorts_linguistically(engine: Engine) -> None:
    """Else the next test would pass at revision 0006 too."""
    with engine.connect() as conn:
        ordered = conn.exec_driver_sql(
            "SELECT n FROM unnest(%(names)s::text[]) AS n ORDER BY n", {"names": NAMES}
        ).scalars()
        assert list(ordered) != sorted(NAMES)


def test_players_page_in_python_order_across_pages(engine: Engine) -> None:
    uow = PostgresUnitOfWorkFactory(engine)
    with uow() as work:
        for name in NAMES:
            work.players.add(Player(name, created_at=NOW))
        work.commit()

    seen: list[str] = []
    after: str | None = None
    for _ in range(len(NAMES)):  # bounded: one page per name at most
        with uow() as work:
            page = [p.name for p in work.players.page(after, 3)]
        if not page:
            break
        seen += page
        after = page[-1]

    assert seen == sorted(NAMES)
