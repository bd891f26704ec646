"""The market lock is one game's: two game databases on one server (issue 15, part 5).

Advisory locks live in the server's one lock table, under the same key in every
database; datm's look at ``pg_locks`` must keep to the current database. While
another database's close holds its market lock, this game's market is open (its
status shows no holder) and trades here go through; its own lock still closes it.
"""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from injector import Injector  # noqa: E402
from process_workers import build_injector  # noqa: E402
from process_world import World, assert_invariants, open_world  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.domain.errors import MarketClosed  # noqa: E402
from datm.services.analytics import AnalyticsService  # noqa: E402
from datm.services.trading import TradingService  # noqa: E402

pytestmark = pytest.mark.postgres


@pytest.fixture
def ours() -> Iterator[World]:
    with open_world(1, 1) as world:
        yield world


@pytest.fixture
def theirs() -> Iterator[Injector]:
    with postgres_support.fresh_database("datm_other_game") as url:
        migrate.upgrade(url)
        injector = build_injector(url)
        try:
            yield injector
        finally:
            injector.get(Engine).dispose()


def test_another_databases_market_lock_leaves_this_market_open(
    ours: World, theirs: Injector
) -> None:
    here, there = ours.get(AnalyticsService), theirs.get(AnalyticsService)
    (_, key), mbid = ours.sessions[0], ours.mbids[0]
    trading = ours.get(TradingService)

    with there.hold_market_lock(timeout=10):
        assert there.is_market_open() is False  # not vacuous: it is held, there
        assert there.market_status().holder is not None
        assert here.is_market_open() is True
        status = here.market_status()
        assert (status.open, status.holder) == (True, None)
        trading.buy(key, trading.quote(key, mbid, "buy").token)

    with here.hold_market_lock(timeout=10):
        assert here.is_market_open() is False
        assert here.market_status().holder is not None
        assert there.is_market_open() is True
        assert there.market_status().holder is None
        with pytest.raises(MarketClosed):
            trading.quote(key, mbid, "sell")

    trading.sell(key, trading.quote(key, mbid, "sell").token)
    assert ours.count("SELECT COUNT(*) FROM trades") == 2
    assert_invariants(ours)


def test_both_games_can_hold_their_own_market_lock_at_once(ours: World, theirs: Injector) -> None:
    here, there = ours.get(AnalyticsService), theirs.get(AnalyticsService)

    with there.hold_market_lock(timeout=10), here.hold_market_lock(timeout=10):
        assert (here.is_market_open(), there.is_market_open()) == (False, False)
    assert (here.is_market_open(), there.is_market_open()) == (True, True)
