"""TradingService on every backend: every reason a trade is refused, each refusal
writing nothing (money, holdings, trades, ledger, artists)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta

import expected
import pytest
from harness import Game

from datm.domain import quotes
from datm.domain.errors import (
    AlreadyHeld,
    DataError,
    MarketClosed,
    NoneRemaining,
    NotAuthenticated,
    NotEnoughMoney,
    NotHeld,
    QuoteExpired,
    QuoteInvalid,
    TransientError,
)

pytestmark = pytest.mark.through_aio  # its cases run through datm.aio too

VALIDITY = timedelta(seconds=expected.QUOTE_VALIDITY_SECONDS)


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
