"""MarketService on every backend: listing on demand, market data, history, tops,
the chart with market data, most traded, recent trades and recommendations."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import expected
import pytest
from harness import Game

from datm.domain.errors import DataError, InvalidInput, NoMbid, NotAuthenticated, UnknownArtist
from datm.services.results import (
    ArtistGain,
    ArtistLight,
    HistoryEntry,
    MarketData,
    TradedArtist,
    TradeView,
)

pytestmark = pytest.mark.through_aio  # its cases run through datm.aio too


def test_market_data_lists_an_artist_on_first_demand_from_last_fm_numbers(game: Game) -> None:
    game.login_until(3)
    artist = game.affordable()[0]
    listeners, playcount = game.numbers(artist.mbid)
    price = expected.listing_price(listeners, playcount)
    shares = expected.max_shares(3, listeners, game.top_listeners())
    assert game.analytics.counts().listed_artists == 0

    data = game.market.market_data(artist.mbid)

    assert data == MarketData(
        mbid=artist.mbid,
        name=artist.name,
        price=price,
        buy_price=price,
        sell_price=expected.sell_price(price),
        remaining=shares,
        max_shares=shares,
        points=0,
        dividend=0,
        held=False,
    )
    assert game.analytics.counts().listed_artists == 1
    [summary] = next(game.analytics.artists())
    assert (summary.last_listeners, summary.last_playcount) == (listeners, playcount)
    today = game.clock.today()
    assert game.market.history(artist.mbid, 1) == [HistoryEntry(today, price, 0, 0)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.price = 1  # type: ignore[misc]


def test_max_shares_at_listing_grow_with_the_number_of_players(game: Game) -> None:
    artist = game.affordable()[0]
    listeners, _ = game.numbers(artist.mbid)
    top = game.top_listeners()
    players = expected.players_for_shares(3, listeners, top) + 4
    game.login_until(players)
    shares = expected.max_shares(players, listeners, top)
    assert shares >= 3

    data = game.market.market_data(artist.mbid)

    assert (data.max_shares, data.remaining) == (shares, shares)


def test_market_data_by_name_lists_the_mbid_once(game: Game) -> None:
    artist = game.affordable()[1]

    by_name = game.market.market_data(artist.name.upper())
    by_mbid = game.market.market_data(artist.mbid)

    assert by_name == by_mbid
    assert by_name.mbid == artist.mbid
    assert game.analytics.counts().listed_artists == 1


def test_market_data_is_stable_once_listed_even_when_last_fm_numbers_move(game: Game) -> None:
    artist = game.affordable()[0]
    listed = game.market.market_data(artist.mbid)
    game.next_day()
    assert game.listing_price(artist.mbid) != listed.price

    assert game.market.market_data(artist.mbid) == listed


def test_market_data_shows_the_holders_sell_price_and_others_the_buy_price(game: Game) -> None:
    holder, other = game.login(), game.login()
    artist = game.affordable()[0]
    game.buy(holder, artist.mbid)
    anonymous = game.market.market_data(artist.mbid)

    mine = game.market.market_data(artist.mbid, player=holder.player)
    theirs = game.market.market_data(artist.mbid, player=other.player)

    assert mine.held is True
    assert mine.price == mine.sell_price == expected.sell_price(anonymous.buy_price)
    assert theirs.held is False and anonymous.held is False
    assert theirs.price == theirs.buy_price == anonymous.price
    assert mine.remaining == theirs.remaining == anonymous.max_shares - 1


def test_market_data_of_an_artist_without_mbid_is_no_mbid_and_lists_nothing(game: Game) -> None:
    nameless = game.without_mbid()

    with pytest.raises(NoMbid) as refused:
        game.market.market_data(nameless.name)

    assert isinstance(refused.value, DataError)
    assert game.analytics.counts().listed_artists == 0


@pytest.mark.parametrize(
    "ref", ["No Such Band Anywhere", str(uuid.uuid4())], ids=["by-name", "by-mbid"]
)
def test_market_data_of_an_unknown_artist_is_unknown_and_lists_nothing(
    game: Game, ref: str
) -> None:
    with pytest.raises(UnknownArtist):
        game.market.market_data(ref)

    assert game.analytics.counts().listed_artists == 0


def test_market_data_shows_points_and_dividend_of_the_latest_close(game: Game) -> None:
    artist = game.affordable()[0]
    game.market.market_data(artist.mbid)
    before = game.numbers(artist.mbid)
    game.next_day()
    after = game.numbers(artist.mbid)
    game.close.run()
    d_listeners, d_playcount = after[0] - before[0], after[1] - before[1]

    data = game.market.market_data(artist.mbid)

    assert data.points == expected.close_points(d_listeners, d_playcount)
    assert data.dividend == expected.close_dividend(d_listeners, d_playcount)
    assert data.dividend > 0


def test_history_lists_price_points_and_dividend_per_day_oldest_first(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    listed_on = game.clock.today()
    listing = game.market.market_data(artist.mbid)
    numbers = [game.numbers(artist.mbid)]
    history = [HistoryEntry(listed_on, listing.price, 0, 0)]
    for trade in (game.buy, game.sell):
        trade(who, artist.mbid)  # moves the price that the next close records
        day = game.next_day()
        price = game.market.market_data(artist.mbid).buy_price
        numbers.append(game.numbers(artist.mbid))
        (l0, s0), (l1, s1) = numbers[-2:]
        points = expected.close_points(l1 - l0, s1 - s0)
        dividend = expected.close_dividend(l1 - l0, s1 - s0)
        history.append(HistoryEntry(day, price, points, dividend))
        game.close.run()
    assert len({h.price for h in history}) == 3

    assert game.market.history(artist.mbid, 3) == history
    assert game.market.history(artist.name.lower(), 2) == history[1:]
    assert game.market.history(artist.mbid, 1) == history[2:]


def test_history_of_an_unknown_artist_is_unknown(game: Game) -> None:
    with pytest.raises(UnknownArtist):
        game.market.history(str(uuid.uuid4()), 7)


@pytest.mark.parametrize("days", [0, -1, 5000])
def test_history_over_a_bad_number_of_days_is_invalid_input(game: Game, days: int) -> None:
    artist = game.affordable()[0]
    game.market.market_data(artist.mbid)

    with pytest.raises(InvalidInput):
        game.market.history(artist.mbid, days)


def test_top_by_price_ranks_listed_artists_highest_price_first(game: Game) -> None:
    listed = [game.market.market_data(a.mbid) for a in game.affordable()[:5]]
    ranked = sorted(listed, key=lambda d: (-d.price, d.mbid))

    assert game.market.top_by_price(10) == ranked
    assert game.market.top_by_price(2) == ranked[:2]
    assert all(isinstance(d, MarketData) and not d.held for d in ranked)


def test_top_by_gain_ranks_artists_by_price_rise_over_the_days(game: Game) -> None:
    who = game.login()
    rising, flat = game.affordable()[:2]
    flat_data = game.market.market_data(flat.mbid)
    listing = game.market.market_data(rising.mbid)
    game.buy(who, rising.mbid)
    now = game.market.market_data(rising.mbid)
    move = (
        expected.price_after_buy(
            listing.price, listing.price, listing.remaining, listing.max_shares
        )
        - listing.price
    )
    assert now.buy_price - listing.price == move > 0

    gains = game.market.top_by_gain(10, days=7)

    assert gains == [ArtistGain(now, move), ArtistGain(flat_data, 0)]
    assert game.market.top_by_gain(1, days=7) == gains[:1]


def test_chart_lists_last_fm_chart_with_market_data_leaving_out_artists_without_mbid(
    game: Game,
) -> None:
    chart = game.lastfm.chart_top_artists(5, 1)
    assert any(not a.mbid for a in chart), "the catalogue's top 5 has an artist without MBID"

    listed = game.market.chart(5, 1)

    assert [d.mbid for d in listed] == [a.mbid for a in chart if a.mbid]
    assert all(d.price == game.listing_price(d.mbid) for d in listed)
    assert game.analytics.counts().listed_artists == len(listed)
    assert [d.mbid for d in game.market.chart(5, 2)] == [
        a.mbid for a in game.lastfm.chart_top_artists(5, 2) if a.mbid
    ]


def test_most_traded_counts_buys_per_artist_most_first(game: Game) -> None:
    alice, bob = game.login(), game.login()
    often, once = game.affordable()[:2]
    game.buy(alice, often.mbid)
    game.sell(alice, often.mbid)
    game.buy(alice, often.mbid)
    game.buy(bob, once.mbid)

    ranked = game.market.most_traded(10)

    assert ranked == [
        TradedArtist(often.mbid, often.name, 2),
        TradedArtist(once.mbid, once.name, 1),
    ]
    assert game.market.most_traded(1) == ranked[:1]


def test_most_traded_over_days_counts_only_buys_of_those_days(game: Game) -> None:
    alice, bob = game.login(), game.login()
    old, new = game.affordable()[:2]
    game.buy(alice, old.mbid)
    game.next_day(3)
    game.buy(bob, new.mbid)

    assert game.market.most_traded(10, days=1) == [TradedArtist(new.mbid, new.name, 1)]
    assert game.market.most_traded(10, days=3) == [TradedArtist(new.mbid, new.name, 1)]
    assert {t.mbid for t in game.market.most_traded(10, days=4)} == {old.mbid, new.mbid}
    assert {t.mbid for t in game.market.most_traded(10)} == {old.mbid, new.mbid}


def test_recent_trades_lists_the_newest_first(game: Game) -> None:
    alice = game.login()
    artist = game.affordable()[0]
    bought = game.buy(alice, artist.mbid)
    game.clock.advance(timedelta(minutes=1))
    sold = game.sell(alice, artist.mbid)

    recent = game.market.recent_trades(10)

    assert recent == [
        TradeView(alice.player, artist.mbid, artist.name, "sell", sold.price, sold.at),
        TradeView(alice.player, artist.mbid, artist.name, "buy", bought.price, bought.at),
    ]
    assert game.market.recent_trades(1) == recent[:1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recent[0].price = 1  # type: ignore[misc]


def test_recommendations_come_from_the_players_last_fm_artists(game: Game) -> None:
    who = game.login()
    own = game.lastfm.user_top_artists(who.player, 30) + game.lastfm.library_artists(who.player, 30)

    recommended = game.market.recommendations(who.session_key, 5)

    assert len(recommended) == 5
    assert all(isinstance(r, ArtistLight) and r.mbid for r in recommended)
    assert len({r.mbid for r in recommended}) == 5
    assert {r.mbid for r in recommended} <= {a.mbid for a in own}


def test_recommendations_leave_out_what_the_player_holds(game: Game) -> None:
    who = game.login()
    affordable = {a.mbid for a in game.affordable()}
    before = game.market.recommendations(who.session_key, 10)
    held = next(r for r in before if r.mbid in affordable)
    game.buy(who, held.mbid)

    after = game.market.recommendations(who.session_key, 10)

    assert held.mbid not in {r.mbid for r in after}
    assert [r for r in before if r != held] == after[: len(before) - 1]


def test_recommendations_need_a_session(game: Game) -> None:
    with pytest.raises(NotAuthenticated):
        game.market.recommendations("no-such-session", 5)
