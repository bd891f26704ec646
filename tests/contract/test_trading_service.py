"""TradingService on every backend: quotes, buys and sells at the quoted price,
and the price moves of game-rules.md. Refusals: test_trading_service_refusals.py."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import expected
import pytest
from harness import Game

from datm.domain.errors import (
    AlreadyHeld,
    DataError,
    InvalidInput,
    NoMbid,
    NoneRemaining,
    NotAuthenticated,
    NotHeld,
    UnknownArtist,
)
from datm.domain.lastfm import ChartArtist
from datm.domain.player import LedgerKind
from datm.services.results import LoginResult, SignedQuote, TradeReceipt, TradeView

pytestmark = pytest.mark.through_aio  # its cases run through datm.aio too

VALIDITY = timedelta(seconds=expected.QUOTE_VALIDITY_SECONDS)


def shared_artist(game: Game, shares: int) -> tuple[ChartArtist, list[LoginResult]]:
    """An affordable artist listed with at least ``shares`` rights, and the players
    logged in to make it so."""
    artist = game.affordable()[0]
    listeners, _ = game.numbers(artist.mbid)
    players = game.login_until(expected.players_for_shares(shares, listeners, game.top_listeners()))
    assert game.market.market_data(artist.mbid).max_shares >= shares
    return artist, players


# quotes ---------------------------------------------------------------------


def test_quote_to_buy_guarantees_the_buy_price_for_15_seconds(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]

    quote = game.trading.quote(who.session_key, artist.mbid, "buy")

    assert isinstance(quote, SignedQuote)
    assert (quote.mbid, quote.side) == (artist.mbid, "buy")
    assert quote.price == game.listing_price(artist.mbid)
    assert quote.price == game.market.market_data(artist.mbid).buy_price
    assert quote.expires_at == game.clock.now() + VALIDITY
    assert isinstance(quote.token, str) and quote.token.isascii()
    with pytest.raises(dataclasses.FrozenInstanceError):
        quote.price = 1  # type: ignore[misc]


def test_quote_lists_the_artist_it_names_by_name(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]

    quote = game.trading.quote(who.session_key, artist.name.lower(), "BUY")

    assert (quote.mbid, quote.side) == (artist.mbid, "buy")
    assert game.analytics.counts().listed_artists == 1


def test_quote_to_sell_guarantees_the_holders_sell_price(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    game.buy(who, artist.mbid)
    price_now = game.market.market_data(artist.mbid).buy_price

    quote = game.trading.quote(who.session_key, artist.mbid, "sell")

    assert (quote.side, quote.price) == ("sell", expected.sell_price(price_now))


def test_quote_to_sell_what_the_player_does_not_hold_is_not_held(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]

    with pytest.raises(NotHeld) as refused:
        game.trading.quote(who.session_key, artist.mbid, "sell")

    assert refused.value.mbid == artist.mbid


def test_quote_to_buy_what_the_player_holds_is_already_held(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    game.buy(who, artist.mbid)

    with pytest.raises(AlreadyHeld) as refused:
        game.trading.quote(who.session_key, artist.mbid, "buy")

    assert refused.value.mbid == artist.mbid


def test_quote_to_buy_a_sold_out_artist_is_none_remaining(game: Game) -> None:
    holder, late = game.login(), game.login()
    artist = game.affordable()[-1]
    assert game.market.market_data(artist.mbid).max_shares == 1
    game.buy(holder, artist.mbid)

    with pytest.raises(NoneRemaining) as refused:
        game.trading.quote(late.session_key, artist.mbid, "buy")

    assert refused.value.mbid == artist.mbid


@pytest.mark.parametrize(
    ("artist", "side", "error"),
    [
        ("no-mbid", "buy", NoMbid),
        ("No Such Band Anywhere", "buy", UnknownArtist),
        (str(uuid.uuid4()), "buy", UnknownArtist),
        ("listed", "hold", InvalidInput),
    ],
    ids=["no-mbid", "unknown-name", "unknown-mbid", "bad-side"],
)
def test_quote_refuses_bad_requests_with_a_data_error(
    game: Game, artist: str, side: str, error: type[DataError]
) -> None:
    who = game.login()
    listed = game.affordable()[0]
    game.market.market_data(listed.mbid)
    ref = {"no-mbid": game.without_mbid().name, "listed": listed.mbid}.get(artist, artist)

    with pytest.raises(error):
        game.trading.quote(who.session_key, ref, side)

    assert game.analytics.counts().listed_artists == 1


def test_quote_needs_a_session(game: Game) -> None:
    artist = game.affordable()[0]

    with pytest.raises(NotAuthenticated):
        game.trading.quote("no-such-session", artist.mbid, "buy")


# buying and selling -----------------------------------------------------------


def test_buy_pays_the_quoted_price_and_moves_the_price_by_the_rule(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    before = game.market.market_data(artist.mbid)

    receipt = game.trading.buy(who.session_key, quote.token)

    money = expected.STARTING_MONEY - quote.price
    assert isinstance(receipt, TradeReceipt)
    assert receipt == TradeReceipt(
        artist.mbid, "buy", quote.price, money, game.clock.now(), ("first_trade",)
    )
    assert game.players.money(who.session_key) == money
    after = game.market.market_data(artist.mbid, player=who.player)
    # listing day: the last closing price is the listing price
    assert after.buy_price == expected.price_after_buy(
        before.buy_price, before.buy_price, before.remaining, before.max_shares
    )
    assert after.buy_price > before.buy_price
    assert (after.held, after.remaining) == (True, before.remaining - 1)
    profile = game.players.profile(who.player)
    [holding] = profile.holdings
    assert (holding.market.mbid, holding.price_paid, holding.since) == (
        artist.mbid,
        quote.price,
        receipt.at,
    )
    assert profile.trades == (
        TradeView(who.player, artist.mbid, artist.name, "buy", quote.price, receipt.at),
    )
    [entry] = game.ledger(who.player)
    assert (entry.amount, entry.kind) == (-quote.price, LedgerKind.BUY)
    assert game.audit.audit().ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        receipt.money = 0  # type: ignore[misc]


def test_sell_pays_the_quoted_sell_price_and_moves_the_price_by_the_rule(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    listing = game.listing_price(artist.mbid)
    bought = game.buy(who, artist.mbid)
    quote = game.trading.quote(who.session_key, artist.mbid, "sell")
    before = game.market.market_data(artist.mbid)

    receipt = game.trading.sell(who.session_key, quote.token)

    money = expected.STARTING_MONEY - bought.price + quote.price
    assert quote.price == expected.sell_price(before.buy_price)
    assert receipt == TradeReceipt(artist.mbid, "sell", quote.price, money, game.clock.now(), ())
    assert game.players.money(who.session_key) == money
    after = game.market.market_data(artist.mbid, player=who.player)
    assert after.buy_price == expected.price_after_sell(
        before.buy_price, listing, before.remaining, before.max_shares
    )
    assert (after.held, after.remaining) == (False, before.max_shares)
    assert game.players.profile(who.player).holdings == ()
    assert [t.side for t in game.players.profile(who.player).trades] == ["sell", "buy"]
    assert [(e.amount, e.kind) for e in game.ledger(who.player)] == [
        (-bought.price, LedgerKind.BUY),
        (quote.price, LedgerKind.SELL),
    ]
    assert game.audit.audit().ok


def test_each_buy_moves_the_price_by_the_remaining_shares_before_it(game: Game) -> None:
    artist, players = shared_artist(game, shares=3)
    start = game.market.market_data(artist.mbid)
    price, remaining = start.buy_price, start.remaining

    for who in players[:3]:
        receipt = game.buy(who, artist.mbid)
        assert receipt.price == price
        price = expected.price_after_buy(price, start.buy_price, remaining, start.max_shares)
        remaining -= 1
        data = game.market.market_data(artist.mbid)
        assert (data.buy_price, data.remaining) == (price, remaining)


def test_each_sell_moves_the_price_by_the_remaining_shares_before_it(game: Game) -> None:
    artist, players = shared_artist(game, shares=3)
    listing = game.market.market_data(artist.mbid)
    for who in players[:3]:
        game.buy(who, artist.mbid)

    for who in players[:3]:
        before = game.market.market_data(artist.mbid)
        receipt = game.sell(who, artist.mbid)
        assert receipt.price == expected.sell_price(before.buy_price)
        after = game.market.market_data(artist.mbid)
        assert after.buy_price == expected.price_after_sell(
            before.buy_price, listing.buy_price, before.remaining, before.max_shares
        )
        assert after.remaining == before.remaining + 1


def test_buy_executes_at_the_quoted_price_after_the_price_moved(game: Game) -> None:
    artist, players = shared_artist(game, shares=2)
    slow, fast = players[:2]
    quote = game.trading.quote(slow.session_key, artist.mbid, "buy")
    game.buy(fast, artist.mbid)
    moved = game.market.market_data(artist.mbid)
    assert moved.buy_price > quote.price

    receipt = game.trading.buy(slow.session_key, quote.token)

    assert receipt.price == quote.price
    assert game.players.money(slow.session_key) == expected.STARTING_MONEY - quote.price
    assert game.market.market_data(artist.mbid).buy_price == expected.price_after_buy(
        moved.buy_price,
        game.market.history(artist.mbid, 1)[0].price,
        moved.remaining,
        moved.max_shares,
    )


def test_sell_executes_at_the_quoted_price_after_the_price_moved(game: Game) -> None:
    artist, players = shared_artist(game, shares=2)
    seller, buyer = players[:2]
    bought = game.buy(seller, artist.mbid)
    quote = game.trading.quote(seller.session_key, artist.mbid, "sell")
    game.buy(buyer, artist.mbid)
    assert game.market.market_data(artist.mbid).sell_price > quote.price

    receipt = game.trading.sell(seller.session_key, quote.token)

    assert receipt.price == quote.price
    assert receipt.money == expected.STARTING_MONEY - bought.price + quote.price


def test_first_trade_earns_the_first_trade_trophy_once(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]

    first = game.buy(who, artist.mbid)
    game.clock.advance(timedelta(minutes=5))
    second = game.sell(who, artist.mbid)

    assert first.new_trophies == ("first_trade",)
    assert second.new_trophies == ()
    [trophy] = game.players.profile(who.player).trophies
    assert (trophy.uid, trophy.awarded_at) == ("first_trade", first.at)
    assert trophy.name and trophy.description and trophy.icon


# receipt: the trade that used a quote, for a caller who lost buy's answer (datm.aio).
def test_receipt_is_none_until_the_quotes_trade_commits_then_the_trade(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0].mbid
    quote = game.trading.quote(who.session_key, artist, "buy")
    assert game.trading.receipt(who.session_key, quote.token) is None

    bought = game.trading.buy(who.session_key, quote.token)
    found = game.trading.receipt(who.session_key, quote.token)

    assert found is not None
    assert (found.mbid, found.side, found.price, found.at) == (
        bought.mbid,
        "buy",
        quote.price,
        bought.at,
    )
    assert found.money == game.players.money(who.session_key) == bought.money


def test_receipt_of_a_sell_after_the_quote_expired_and_money_moved_on(game: Game) -> None:
    who = game.login()
    first, second = (a.mbid for a in game.cheapest(2))
    game.buy(who, first)
    quote = game.trading.quote(who.session_key, first, "sell")
    sold = game.trading.sell(who.session_key, quote.token)
    game.buy(who, second)  # the money moves on after the sell
    game.clock.advance(VALIDITY * 2)  # an expired quote may still be asked about

    found = game.trading.receipt(who.session_key, quote.token)

    assert found is not None
    assert (found.mbid, found.side, found.price, found.at) == (first, "sell", quote.price, sold.at)
    assert found.money == game.players.money(who.session_key)
    assert found.new_trophies == ()


def test_receipt_of_a_refused_trade_is_none(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0].mbid
    game.buy(who, artist)
    game.clock.advance(timedelta(seconds=1))
    quote = game.trading.quote(who.session_key, artist, "sell")
    game.sell(who, artist)  # another quote sold it: this one's sell is refused
    with pytest.raises(NotHeld):
        game.trading.sell(who.session_key, quote.token)

    assert game.trading.receipt(who.session_key, quote.token) is None


def test_receipt_is_only_for_the_quotes_own_player(game: Game) -> None:
    owner, other = game.login(), game.login()
    artist = game.affordable()[0].mbid
    quote = game.trading.quote(owner.session_key, artist, "buy")
    game.trading.buy(owner.session_key, quote.token)

    with pytest.raises(DataError, match="another player"):
        game.trading.receipt(other.session_key, quote.token)
    with pytest.raises(NotAuthenticated):
        game.trading.receipt("no-such-session", quote.token)
    with pytest.raises(DataError):
        game.trading.receipt(owner.session_key, quote.token[:-2] + "xx")  # forged
