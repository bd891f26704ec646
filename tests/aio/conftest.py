"""datm.aio's tests run on asyncio (datm.aio is asyncio's), through anyio's plugin;
the Postgres ones on a fresh database of their own, migrated."""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database() -> Iterator[str]:
    postgres_support.require_postgres_packages()
    from datm.adapters.postgres import migrate

    with postgres_support.fresh_database("datm_aio") as url:
        migrate.upgrade(url)
        yield url
