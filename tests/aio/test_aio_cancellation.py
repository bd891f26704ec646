"""Cancelling an awaited trade at a random moment (hypothesis over the delay):
the trade is whole or absent, the ledger holds, and ``receipt`` says which."""

from __future__ import annotations

import asyncio
import collections

import expected
from aio_support import aio_of
from harness import Game
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from datm.services.results import LoginResult, TradeReceipt


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(delay=st.floats(min_value=0.0, max_value=0.03), sell_first=st.booleans())
def test_a_trade_cancelled_at_any_point_is_whole_or_absent(
    game: Game, delay: float, sell_first: bool
) -> None:
    who = game.login()
    artist = game.cheapest(1)[0].mbid
    if sell_first:
        game.buy(who, artist)
    side = "sell" if sell_first else "buy"

    async def cancelled_trade() -> TradeReceipt | None:
        async with aio_of(game, max_calls=4) as services:
            quote = await services.trading.quote(who.session_key, artist, side)
            trade = asyncio.create_task(
                getattr(services.trading, side)(who.session_key, quote.token)
            )
            await asyncio.sleep(delay)
            trade.cancel()
            finished = await asyncio.gather(trade, return_exceptions=True)
            await services.drain()  # the thread's call has ended either way
            found: TradeReceipt | None = await services.trading.receipt(
                who.session_key, quote.token
            )
            if isinstance(finished[0], TradeReceipt):
                assert found is not None and found.price == finished[0].price
            if found is None:  # not committed: the quote is still unused
                again = await getattr(services.trading, side)(who.session_key, quote.token)
                assert again.price == quote.price
            return found

    try:
        found = asyncio.run(cancelled_trade())
        event("the cancelled trade committed" if found else "the cancelled trade did not commit")
        check_whole(game, who, artist, side, found)
    finally:  # the artist's rights free again for the next example, whatever happened
        if artist in {h.market.mbid for h in game.players.profile(who.player).holdings}:
            game.sell(who, artist)


def check_whole(
    game: Game, who: LoginResult, artist: str, side: str, found: TradeReceipt | None
) -> None:
    # Whole either way: the trade happened once, its money and holding with it.
    profile = game.players.profile(who.player)
    ledger = game.ledger(who.player)
    money = game.players.money(who.session_key)
    assert money == expected.STARTING_MONEY + sum(e.amount for e in ledger)
    kinds = collections.Counter(e.kind.value for e in ledger)
    assert kinds[side] == 1
    assert (artist in {h.market.mbid for h in profile.holdings}) == (side == "buy")
    assert game.audit.audit().ok
    assert found is None or found.side == side
