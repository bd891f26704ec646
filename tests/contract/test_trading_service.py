"""TradingService on every backend: quotes, buys and sells, and every reason a
trade is refused, each refusal writing nothing."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import timedelta

import expected
import pytest
from harness import Game

from datm.domain import quotes
from datm.domain.errors import (
    AlreadyHeld,
    DataError,
    InvalidInput,
    MarketClosed,
    NoMbid,
    NoneRemaining,
    NotAuthenticated,
    NotEnoughMoney,
    NotHeld,
    QuoteExpired,
    QuoteInvalid,
    TransientError,
    UnknownArtist,
)
from datm.domain.lastfm import ChartArtist
from datm.domain.player import LedgerKind
from datm.services.results import LoginResult, SignedQuote, TradeReceipt, TradeView

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


# refusals: each writes nothing --------------------------------------------------


def test_a_buy_quote_used_twice_is_invalid(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.trading.buy(who.session_key, quote.token)
    game.sell(who, artist.mbid)
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid) as refused:
        game.trading.buy(who.session_key, quote.token)

    assert isinstance(refused.value, DataError)
    assert game.snapshot(who) == before


def test_a_buy_quote_executed_twice_in_a_row_is_invalid_not_already_held(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.trading.buy(who.session_key, quote.token)
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_a_quote_refused_for_money_stays_unused(game: Game) -> None:
    who = game.login()
    expensive = game.cheapest(2)[1]
    spend = next(a for a in game.affordable() if a.mbid != expensive.mbid)
    quote = game.trading.quote(who.session_key, expensive.mbid, "buy")
    game.buy(who, spend.mbid)
    assert game.players.money(who.session_key) < quote.price
    with pytest.raises(NotEnoughMoney):
        game.trading.buy(who.session_key, quote.token)
    game.sell(who, spend.mbid)

    assert game.trading.buy(who.session_key, quote.token).price == quote.price


def test_a_sell_quote_used_twice_is_invalid(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[-1]
    game.buy(who, artist.mbid)
    quote = game.trading.quote(who.session_key, artist.mbid, "sell")
    game.trading.sell(who.session_key, quote.token)
    game.buy(who, artist.mbid)
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.sell(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_an_expired_quote_is_refused_as_transient(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.clock.advance(VALIDITY + timedelta(seconds=1))
    before = game.snapshot(who)

    with pytest.raises(QuoteExpired) as refused:
        game.trading.buy(who.session_key, quote.token)

    assert isinstance(refused.value, TransientError)
    assert refused.value.expired_at == quote.expires_at.isoformat()
    assert game.snapshot(who) == before


def test_a_quote_is_honoured_until_just_before_it_expires(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.clock.advance(VALIDITY - timedelta(milliseconds=1))

    assert game.trading.buy(who.session_key, quote.token).price == quote.price


def _change_price(token: str) -> str:
    payload, signature = token.split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    doc["c"] = 1
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return f"{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def _flip_signature(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


TAMPERINGS: dict[str, Callable[[str], str]] = {
    "price-lowered": _change_price,
    "signature-flipped": _flip_signature,
    "signature-dropped": lambda token: token.split(".")[0],
    "garbage": lambda token: "not.a-quote",
    "empty": lambda token: "",
    "non-ascii": lambda token: token[:-1] + "é",
}


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_a_tampered_quote_is_invalid(game: Game, tamper: str) -> None:
    who = game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, TAMPERINGS[tamper](quote.token))

    assert game.snapshot(who) == before


def test_a_quote_signed_with_another_secret_is_invalid(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    real = game.trading.quote(who.session_key, artist.mbid, "buy")
    forged = quotes.sign(
        quotes.Quote("forged", who.player, artist.mbid, quotes.Side.BUY, 1, real.expires_at),
        b"not-the-game-secret-0123456789",
    )
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, forged)

    assert game.snapshot(who) == before


def test_another_players_quote_is_invalid(game: Game) -> None:
    owner, thief = game.login(), game.login()
    artist = game.affordable()[0]
    quote = game.trading.quote(owner.session_key, artist.mbid, "buy")
    before = game.snapshot(owner, thief)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(thief.session_key, quote.token)

    assert game.snapshot(owner, thief) == before


def test_a_sell_quote_cannot_buy(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[-1]
    game.buy(who, artist.mbid)
    quote = game.trading.quote(who.session_key, artist.mbid, "sell")
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_a_buy_quote_cannot_sell(game: Game) -> None:
    who = game.login()
    held, other = game.cheapest(2)
    game.buy(who, held.mbid)
    quote = game.trading.quote(who.session_key, other.mbid, "buy")
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.sell(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_buying_without_enough_money_is_refused_with_what_it_costs(game: Game) -> None:
    who = game.login()
    artist = game.too_expensive()
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    before = game.snapshot(who)

    with pytest.raises(NotEnoughMoney) as refused:
        game.trading.buy(who.session_key, quote.token)

    assert (refused.value.needed, refused.value.available) == (
        quote.price,
        expected.STARTING_MONEY,
    )
    assert isinstance(refused.value, DataError)
    assert game.snapshot(who) == before


def test_buying_once_the_last_right_is_sold_is_none_remaining(game: Game) -> None:
    late, early = game.login(), game.login()
    artist = game.affordable()[-1]
    listeners, _ = game.numbers(artist.mbid)
    assert expected.max_shares(2, listeners, game.top_listeners()) == 1
    quote = game.trading.quote(late.session_key, artist.mbid, "buy")
    game.buy(early, artist.mbid)
    before = game.snapshot(late, early)

    with pytest.raises(NoneRemaining) as refused:
        game.trading.buy(late.session_key, quote.token)

    assert refused.value.mbid == artist.mbid
    assert game.snapshot(late, early) == before


def test_buying_what_the_player_already_holds_is_refused(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[-1]
    first = game.trading.quote(who.session_key, artist.mbid, "buy")
    second = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.trading.buy(who.session_key, first.token)
    before = game.snapshot(who)

    with pytest.raises(AlreadyHeld) as refused:
        game.trading.buy(who.session_key, second.token)

    assert refused.value.mbid == artist.mbid
    assert game.snapshot(who) == before


def test_selling_what_the_player_no_longer_holds_is_refused(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[-1]
    game.buy(who, artist.mbid)
    first = game.trading.quote(who.session_key, artist.mbid, "sell")
    second = game.trading.quote(who.session_key, artist.mbid, "sell")
    game.trading.sell(who.session_key, first.token)
    before = game.snapshot(who)

    with pytest.raises(NotHeld) as refused:
        game.trading.sell(who.session_key, second.token)

    assert refused.value.mbid == artist.mbid
    assert game.snapshot(who) == before


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_trading_needs_a_session(game: Game, side: str) -> None:
    who = game.login()
    artist = game.affordable()[-1]
    if side == "sell":
        game.buy(who, artist.mbid)
    quote = game.trading.quote(who.session_key, artist.mbid, side)
    before = game.snapshot(who)

    with pytest.raises(NotAuthenticated):
        getattr(game.trading, side)("no-such-session", quote.token)

    assert game.snapshot(who) == before


def test_trading_is_refused_while_the_market_lock_is_held_and_reads_go_on(game: Game) -> None:
    who = game.login()
    held, wanted = game.cheapest(2)
    game.buy(who, held.mbid)
    buy_quote = game.trading.quote(who.session_key, wanted.mbid, "buy")
    sell_quote = game.trading.quote(who.session_key, held.mbid, "sell")
    before = game.snapshot(who)

    with game.analytics.hold_market_lock():
        assert game.analytics.is_market_open() is False
        with pytest.raises(MarketClosed) as closed:
            game.trading.buy(who.session_key, buy_quote.token)
        assert isinstance(closed.value, TransientError)
        with pytest.raises(MarketClosed):
            game.trading.sell(who.session_key, sell_quote.token)
        with pytest.raises(MarketClosed):
            game.trading.quote(who.session_key, wanted.mbid, "buy")
        assert game.snapshot(who) == before  # reads work while the market is closed
        assert game.market.market_data(held.mbid, who.player).held is True
        assert game.market.top_by_price(5)

    assert game.analytics.is_market_open() is True
    assert game.trading.buy(who.session_key, buy_quote.token).price == buy_quote.price
    assert game.trading.sell(who.session_key, sell_quote.token).price == sell_quote.price
