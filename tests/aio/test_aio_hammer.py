"""Awaited calls racing on one player and one artist, on both backends: through
datm.aio the sync services run on several threads at once, and the books hold as
they do for threads (tests/contract/test_service_races.py): shares never oversold,
one quote trades once, a player holds an artist once, money equals the ledger."""

from __future__ import annotations

import asyncio
from collections import Counter

import expected
import pytest
from aio_support import aio_of, login
from harness import Game

import datm.aio
from datm.domain.errors import AlreadyHeld, NoneRemaining, QuoteInvalid
from datm.services.results import LoginResult, TradeReceipt

pytestmark = pytest.mark.anyio

MAX_CALLS = 8
RACERS = 40


def books_hold(game: Game, players: list[LoginResult]) -> None:
    for who in players:
        ledger = game.ledger(who.player)
        money = game.players.money(who.session_key)
        assert money == expected.STARTING_MONEY + sum(e.amount for e in ledger)
    assert game.audit.audit().ok


def held_by(game: Game, who: LoginResult) -> set[str]:
    return {h.market.mbid for h in game.players.profile(who.player).holdings}


async def quote_and_buy(
    services: datm.aio.AsyncServices, who: LoginResult, mbid: str
) -> TradeReceipt | Exception:
    try:
        quote = await services.trading.quote(who.session_key, mbid, "buy")
        receipt: TradeReceipt = await services.trading.buy(who.session_key, quote.token)
        return receipt
    except (AlreadyHeld, NoneRemaining, QuoteInvalid) as refused:
        return refused


async def test_awaited_buyers_racing_for_one_artist_never_oversell_it(game: Game) -> None:
    async with aio_of(game, max_calls=MAX_CALLS) as services:
        racers = [await login(game, services) for _ in range(RACERS)]
        mbid = game.cheapest(1)[0].mbid
        shares = (await services.market.market_data(mbid)).max_shares  # lists it
        assert shares < RACERS, "the race must be for the last shares"

        outcomes = await asyncio.gather(*(quote_and_buy(services, who, mbid) for who in racers))

    bought = [o for o in outcomes if isinstance(o, TradeReceipt)]
    refused = Counter(type(o).__name__ for o in outcomes if not isinstance(o, TradeReceipt))
    assert len(bought) == shares, refused
    assert set(refused) <= {"NoneRemaining"}
    assert game.market.market_data(mbid).remaining == 0
    holders = {w.player for w in racers if mbid in held_by(game, w)}
    paired = zip(racers, outcomes, strict=True)
    winners = {w.player for w, o in paired if isinstance(o, TradeReceipt)}
    assert holders == winners
    books_hold(game, racers)


async def test_one_player_awaiting_many_buys_of_one_artist_holds_it_once(game: Game) -> None:
    async with aio_of(game, max_calls=MAX_CALLS) as services:
        who = await login(game, services)
        mbid = game.cheapest(1)[0].mbid
        outcomes = await asyncio.gather(*(quote_and_buy(services, who, mbid) for _ in range(24)))

    bought = [o for o in outcomes if isinstance(o, TradeReceipt)]
    refused = {type(o).__name__ for o in outcomes if not isinstance(o, TradeReceipt)}
    assert len(bought) == 1 and refused <= {"AlreadyHeld"}
    assert bought[0].money == expected.STARTING_MONEY - bought[0].price
    assert held_by(game, who) == {mbid}
    books_hold(game, [who])


async def test_one_quote_awaited_by_many_tasks_trades_once(game: Game) -> None:
    async with aio_of(game, max_calls=MAX_CALLS) as services:
        who = await login(game, services)
        mbid = game.cheapest(1)[0].mbid
        quote = await services.trading.quote(who.session_key, mbid, "buy")
        outcomes = await asyncio.gather(
            *(services.trading.buy(who.session_key, quote.token) for _ in range(16)),
            return_exceptions=True,
        )
        receipt = await services.trading.receipt(who.session_key, quote.token)

    bought = [o for o in outcomes if isinstance(o, TradeReceipt)]
    refused = {type(o).__name__ for o in outcomes if not isinstance(o, TradeReceipt)}
    assert len(bought) == 1 and refused == {"QuoteInvalid"}
    assert receipt is not None and receipt.price == bought[0].price == quote.price
    books_hold(game, [who])
