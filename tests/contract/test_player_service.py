"""PlayerService on every backend: public profiles, money, reset and leaving the game."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import expected
import pytest
from harness import Game, unique_name

from datm.domain.errors import (
    DataError,
    InvalidInput,
    MarketClosed,
    NotAuthenticated,
    UnknownPlayer,
)
from datm.domain.player import LedgerKind
from datm.services.results import (
    HoldingView,
    PlayerProfile,
    Points,
    ResetResult,
    TradeReceipt,
    TradeView,
)


def test_a_new_players_profile_has_no_points_holdings_trades_or_trophies(game: Game) -> None:
    who = game.login()

    profile = game.players.profile(who.player)

    assert profile == PlayerProfile(
        name=who.player,
        league=expected.DEFAULT_LEAGUE,
        points=Points(0, 0, 0, 0),
        net_worth=expected.STARTING_MONEY,
        images=game.lastfm.user_info(who.player).images,
        trades=(),
        holdings=(),
        trophies=(),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.league = "gold"  # type: ignore[misc]


def test_a_profile_shows_holdings_with_market_data_trades_trophies_and_net_worth(
    game: Game,
) -> None:
    who = game.login()
    artist = game.affordable()[0]
    receipt = game.buy(who, artist.mbid)
    market = game.market.market_data(artist.mbid, player=who.player)

    profile = game.players.profile(who.player)

    assert profile.holdings == (HoldingView(market, receipt.price, receipt.at),)
    assert profile.holdings[0].market.price == market.sell_price
    assert profile.trades == (
        TradeView(who.player, artist.mbid, artist.name, "buy", receipt.price, receipt.at),
    )
    assert [t.uid for t in profile.trophies] == ["first_trade"]
    assert profile.net_worth == receipt.money + market.sell_price
    assert profile.net_worth < expected.STARTING_MONEY  # the spread of buy and sell


def test_the_profile_of_an_unknown_player_is_unknown_player(game: Game) -> None:
    name = unique_name()

    with pytest.raises(UnknownPlayer) as refused:
        game.players.profile(name)

    assert refused.value.player == name
    assert isinstance(refused.value, DataError)


def test_a_blank_player_name_is_invalid_input(game: Game) -> None:
    with pytest.raises(InvalidInput):
        game.players.profile("")


def test_money_is_the_players_own_money_and_needs_a_session(game: Game) -> None:
    who, other = game.login(), game.login()
    receipt = game.buy(who, game.affordable()[0].mbid)

    assert game.players.money(who.session_key) == expected.STARTING_MONEY - receipt.price
    assert game.players.money(other.session_key) == expected.STARTING_MONEY
    with pytest.raises(NotAuthenticated):
        game.players.money("no-such-session")


def test_reset_sells_every_holding_at_its_sell_price_and_restarts_money_and_points(
    game: Game,
) -> None:
    who = game.login()
    first, second = game.cheapest(2)
    game.buy(who, first.mbid)
    game.buy(who, second.mbid)
    game.next_day()
    game.close.run()  # pays a dividend and points, and moves the last closing price
    points = game.players.profile(who.player).points
    assert points.all_time != 0
    trophies = game.players.profile(who.player).trophies
    game.clock.advance(timedelta(hours=1))
    before = {m: game.market.market_data(m) for m in sorted((first.mbid, second.mbid))}
    last_close = {m: game.market.history(m, 1)[-1].price for m in before}

    result = game.players.reset(who.session_key)

    now = game.clock.now()
    money = game.players.money(who.session_key)
    assert money == expected.STARTING_MONEY
    assert isinstance(result, ResetResult)
    assert result.player == who.player and result.money == expected.STARTING_MONEY
    assert sorted((r.mbid, r.side, r.price, r.at) for r in result.sold) == [
        (m, "sell", expected.sell_price(d.buy_price), now) for m, d in before.items()
    ]
    assert all(isinstance(r, TradeReceipt) for r in result.sold)
    for mbid, data in before.items():
        after = game.market.market_data(mbid)
        assert after.buy_price == expected.price_after_sell(
            data.buy_price, last_close[mbid], data.remaining, data.max_shares
        )
        assert after.remaining == data.remaining + 1
    profile = game.players.profile(who.player)
    assert profile.points == Points(0, 0, 0, 0)
    assert profile.holdings == ()
    assert profile.trophies == trophies and trophies
    assert profile.league == expected.DEFAULT_LEAGUE
    assert {(t.side, t.mbid, t.price) for t in profile.trades[:2]} == {
        ("sell", r.mbid, r.price) for r in result.sold
    }
    kinds = [e.kind for e in game.ledger(who.player)]
    assert kinds.count(LedgerKind.SELL) == 2 and kinds[-1] is LedgerKind.RESET
    assert game.audit.audit().ok


def test_reset_keeps_the_players_league(game: Game) -> None:
    who = game.login()

    result = game.players.reset(who.session_key)

    assert result == ResetResult(who.player, (), expected.STARTING_MONEY)
    assert game.players.profile(who.player).league == expected.DEFAULT_LEAGUE


def test_reset_is_refused_while_the_market_is_closed_and_writes_nothing(game: Game) -> None:
    who = game.login()
    game.buy(who, game.affordable()[0].mbid)
    before = game.snapshot(who)

    with game.analytics.hold_market_lock(), pytest.raises(MarketClosed):
        game.players.reset(who.session_key)

    assert game.snapshot(who) == before


def test_reset_needs_a_session(game: Game) -> None:
    who = game.login()
    game.buy(who, game.affordable()[0].mbid)
    before = game.snapshot(who)

    with pytest.raises(NotAuthenticated):
        game.players.reset("no-such-session")

    assert game.snapshot(who) == before


def test_delete_releases_holdings_removes_the_player_and_anonymises_trades(game: Game) -> None:
    leaver, stayer = game.login(), game.login()
    artist, other = game.cheapest(2)
    bought = game.buy(leaver, artist.mbid)
    kept = game.buy(stayer, other.mbid)
    game.clock.advance(timedelta(minutes=1))
    before = game.market.market_data(artist.mbid)
    players = game.analytics.counts().players

    assert game.players.delete(leaver.session_key) is None

    with pytest.raises(UnknownPlayer):
        game.players.profile(leaver.player)
    with pytest.raises(NotAuthenticated):
        game.auth.check(leaver.session_key)
    with pytest.raises(NotAuthenticated):
        game.players.money(leaver.session_key)
    after = game.market.market_data(artist.mbid)
    assert after.remaining == before.remaining + 1
    assert after.buy_price == expected.price_after_sell(
        before.buy_price, bought.price, before.remaining, before.max_shares
    )
    sale = expected.sell_price(before.buy_price)
    assert game.market.recent_trades(10) == [
        TradeView(None, artist.mbid, artist.name, "sell", sale, game.clock.now()),
        TradeView(stayer.player, other.mbid, other.name, "buy", kept.price, kept.at),
        TradeView(None, artist.mbid, artist.name, "buy", bought.price, bought.at),
    ]
    assert game.analytics.counts().players == players - 1
    assert game.players.profile(stayer.player).trades[0].player == stayer.player
    report = game.audit.audit()
    assert report.ok and report.players == players - 1


def test_a_deleted_player_who_logs_in_again_starts_afresh(game: Game) -> None:
    who = game.login()
    game.buy(who, game.affordable()[0].mbid)
    game.players.delete(who.session_key)

    again = game.login(who.player)

    assert (again.is_new, again.money) == (True, expected.STARTING_MONEY)
    profile = game.players.profile(who.player)
    assert profile.trades == () and profile.holdings == () and profile.trophies == ()
    assert game.ledger(who.player) == []
    assert game.players.money(again.session_key) == expected.STARTING_MONEY
    assert game.audit.audit().ok


def test_delete_needs_a_session_and_deletes_nobody_without_one(game: Game) -> None:
    who = game.login()
    game.buy(who, game.affordable()[0].mbid)
    before = game.snapshot(who)

    with pytest.raises(NotAuthenticated):
        game.players.delete("no-such-session")

    assert game.snapshot(who) == before


def test_delete_is_refused_while_the_market_is_closed(game: Game) -> None:
    who = game.login()
    game.buy(who, game.affordable()[0].mbid)
    before = game.snapshot(who)

    with game.analytics.hold_market_lock(), pytest.raises(MarketClosed):
        game.players.delete(who.session_key)

    assert game.snapshot(who) == before


def test_profile_points_are_the_totals_of_each_period(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    game.buy(who, artist.mbid)
    numbers = [game.numbers(artist.mbid)]
    closes = []
    for day in (6, 9):  # the Friday of one ISO week, then the Monday of the next
        game.clock.set(datetime(2026, 11, day, 9, tzinfo=UTC))
        numbers.append(game.numbers(artist.mbid))
        game.close.run()
        (l0, s0), (l1, s1) = numbers[-2:]
        closes.append(expected.close_points(l1 - l0, s1 - s0))
    friday, monday = closes
    assert friday and monday

    points = game.players.profile(who.player).points

    assert points == Points(
        all_time=friday + monday, daily=monday, weekly=monday, monthly=friday + monday
    )
