"""Trophies: each rule, awarded once, when it first holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain import pricing
from datm.domain.player import Player
from datm.domain.trophies import (
    DEFAULT_TROPHIES,
    Standing,
    earned,
    net_worth,
    trophy,
)

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
NEWCOMER = Standing(trades=0, holdings=0, net_worth=20_000)


def uids(standing: Standing, already: set[str] | None = None) -> set[str]:
    return {t.uid for t in earned(standing, already or set())}


def test_the_default_set_is_first_trade_collector_and_tycoon() -> None:
    assert [t.uid for t in DEFAULT_TROPHIES] == ["first_trade", "collector", "tycoon"]
    for t in DEFAULT_TROPHIES:
        assert t.name and t.description and t.icon
        assert trophy(t.uid) == t


def test_a_new_player_has_earned_nothing() -> None:
    assert earned(NEWCOMER, set()) == []


def test_a_first_trade_earns_first_trade() -> None:
    assert uids(Standing(trades=1, holdings=1, net_worth=20_000)) == {"first_trade"}


@pytest.mark.parametrize(("holdings", "collector"), [(9, False), (10, True), (11, True)])
def test_holding_ten_artists_at_once_earns_collector(holdings: int, collector: bool) -> None:
    standing = Standing(trades=holdings, holdings=holdings, net_worth=20_000)
    assert ("collector" in uids(standing)) is collector


@pytest.mark.parametrize(("worth", "tycoon"), [(49_999, False), (50_000, True), (1_000_000, True)])
def test_a_net_worth_of_fifty_thousand_earns_tycoon(worth: int, tycoon: bool) -> None:
    standing = Standing(trades=0, holdings=0, net_worth=worth)
    assert ("tycoon" in uids(standing)) is tycoon


def test_every_rule_holding_at_once_earns_all_three() -> None:
    standing = Standing(trades=12, holdings=10, net_worth=50_000)
    assert uids(standing) == {"first_trade", "collector", "tycoon"}


def test_a_trophy_already_held_is_never_earned_again() -> None:
    standing = Standing(trades=12, holdings=10, net_worth=50_000)
    assert uids(standing, {"first_trade"}) == {"collector", "tycoon"}
    assert uids(standing, {"first_trade", "collector", "tycoon"}) == set()


def test_net_worth_is_money_plus_the_sell_prices_of_holdings() -> None:
    # sell prices: 125*0.98 = 122.5 -> 122; 75*0.98 = 73.5 -> 74
    sells = [pricing.sell_price(125), pricing.sell_price(75)]
    assert sells == [122, 74]
    assert net_worth(49_800, sells) == 49_996  # 49800 + 122 + 74: not yet a tycoon
    assert "tycoon" not in uids(Standing(2, 2, net_worth(49_800, sells)))
    # 300*0.98 = 294; 49800 + 294 = 50094
    assert net_worth(49_800, [pricing.sell_price(300)]) == 50_094
    assert "tycoon" in uids(Standing(1, 1, net_worth(49_800, [pricing.sell_price(300)])))


def test_a_player_is_awarded_a_trophy_once_and_keeps_the_first_date() -> None:
    player = Player("alice", created_at=NOW)
    assert player.award("first_trade", NOW) is True
    assert player.award("first_trade", NOW + timedelta(days=1)) is False
    assert player.trophies == {"first_trade": NOW}


standings = st.builds(
    Standing,
    trades=st.integers(0, 100),
    holdings=st.integers(0, 30),
    net_worth=st.integers(0, 200_000),
)
all_uids = st.sets(st.sampled_from([t.uid for t in DEFAULT_TROPHIES]))


@given(standings, all_uids)
def test_earned_is_exactly_the_rules_that_hold_minus_those_already_held(
    standing: Standing, already: set[str]
) -> None:
    holds = {
        "first_trade": standing.trades >= 1,
        "collector": standing.holdings >= 10,
        "tycoon": standing.net_worth >= 50_000,
    }
    expected = {uid for uid, ok in holds.items() if ok} - already
    result = earned(standing, already)
    assert {t.uid for t in result} == expected
    assert len(result) == len(expected)  # each at most once
