"""datm.aio on every backend: the same results and errors as the sync services,
every public method offered, 200 trades at once without blocking the loop, and
cancellation that leaves no half trade (``receipt`` says what happened)."""

from __future__ import annotations

import asyncio
import threading

import expected
import pytest
from aio_support import Heartbeat, aio_of, login
from harness import Game

import datm.aio
from datm.domain.errors import MarketClosed, NotAuthenticated, ProgrammingError, QuoteInvalid
from datm.services.analytics import AnalyticsService
from datm.services.results import LoginResult, TradeReceipt
from datm.services.trading import TradingService
from datm.wiring.modules import SERVICES

pytestmark = pytest.mark.anyio

MAX_CALLS = 8
PLAYERS = 100  # each buys and sells: 200 trades
ROUGH_LATENESS_SECONDS = 0.5  # generous: a blocked loop would be late by whole calls


async def test_a_login_trade_and_market_and_league_reads_through_aio(game: Game) -> None:
    async with aio_of(game) as services:
        who = await login(game, services)
        artist = game.affordable()[0].mbid
        quote = await services.trading.quote(who.session_key, artist, "buy")
        receipt = await services.trading.buy(who.session_key, quote.token)

        assert who.is_new and receipt.money == expected.STARTING_MONEY - quote.price
        assert await services.player.money(who.session_key) == receipt.money
        assert (await services.auth.check(who.session_key)) == who.player
        with pytest.raises(QuoteInvalid, match="already used"):  # the sync service's errors
            await services.trading.buy(who.session_key, quote.token)
        with pytest.raises(NotAuthenticated):
            await services.trading.quote("no-such-key", artist, "buy")
        assert await services.market.market_data(artist) == game.market.market_data(artist)
        assert [t.mbid for t in await services.market.recent_trades(5)] == [artist]
        assert await services.league.leagues() == game.leagues.leagues()
        top = await services.league.top("bronze", 10)
        assert top == game.leagues.top("bronze", 10) and who.player in [e.name for e in top]
        assert (await services.league.position(who.player)).name == who.player
        assert (await services.audit.audit()).ok


async def test_an_iterator_is_async_and_a_context_manager_is_async_too(game: Game) -> None:
    async with aio_of(game) as services:
        who = await login(game, services)
        for artist in game.cheapest(2):
            await services.trading.quote(who.session_key, artist.mbid, "buy")  # lists it

        batches = [batch async for batch in services.analytics.artists(batch_size=1)]
        assert [a for batch in batches for a in batch] == [
            a for batch in game.analytics.artists(batch_size=1) for a in batch
        ]
        assert len(batches) == 2

        async with services.analytics.hold_market_lock(timeout=5):
            assert not await services.analytics.is_market_open()
            with pytest.raises(MarketClosed):
                await services.trading.quote(who.session_key, game.cheapest(1)[0].mbid, "buy")
        assert await services.analytics.is_market_open()


async def test_the_market_lock_taken_and_given_back_by_separate_awaited_calls(
    game: Game,
) -> None:
    # Each call may run on another thread of the pool: the lock must not be the
    # thread's (on Postgres it is held by a connection of its own).
    async with aio_of(game, max_calls=4) as services:
        who = await login(game, services)
        artist = game.cheapest(1)[0].mbid
        await services.analytics.acquire_market_lock(timeout=5)
        states = await asyncio.gather(*(services.analytics.is_market_open() for _ in range(12)))
        with pytest.raises(MarketClosed):
            await services.trading.quote(who.session_key, artist, "buy")
        await services.analytics.release_market_lock()
        assert not any(states) and await services.analytics.is_market_open()
        assert (await services.trading.quote(who.session_key, artist, "buy")).mbid == artist


async def test_every_public_method_of_every_service_is_offered(game: Game) -> None:
    own = {n for n in dir(datm.aio.AsyncService) if not n.startswith("_")}
    names = {datm.aio.attribute_name(cls) for cls in SERVICES}
    assert own == set() and names.isdisjoint(dir(datm.aio.AsyncServices))  # nothing hidden
    async with aio_of(game) as services:
        for cls in SERVICES:
            view = services.get(cls)
            assert getattr(services, datm.aio.attribute_name(cls)) is view
            methods = [n for n in vars(cls) if not n.startswith("_") and callable(vars(cls)[n])]
            assert methods and set(methods) <= set(dir(view))
            for name in methods:
                assert callable(getattr(view, name))
        kinds = datm.aio.public_methods(AnalyticsService)
        assert (kinds["artists"], kinds["hold_market_lock"], kinds["counts"]) == (
            "iterator",
            "context",
            "call",
        )
        with pytest.raises(AttributeError):
            services.trading._trade  # noqa: B018 - private methods are not offered
        with pytest.raises(ProgrammingError):
            services.get(Game)


async def test_a_method_added_to_a_service_later_is_covered(game: Game) -> None:
    class Extended(TradingService):
        def added(self, value: int) -> int:
            return value + 1

    assert datm.aio.public_methods(Extended)["added"] == "call"
    assert set(datm.aio.public_methods(TradingService)) == {"quote", "buy", "sell", "receipt"}


async def test_200_concurrent_trades_complete_and_the_ledger_holds(game: Game) -> None:
    players = game.login_until(PLAYERS * 3 // 2)[:PLAYERS]
    assert len(players) == PLAYERS
    # Listed now (with more players than trade), the cheap artists have room for all.
    artists = [a.mbid for a in game.affordable(14_000)]
    room = {m: game.market.market_data(m).max_shares for m in artists}
    seats = [m for m in artists for _ in range(room[m])]
    assert len(seats) >= PLAYERS

    async def buy_and_sell(who: LoginResult, artist: str) -> list[TradeReceipt]:
        done = []
        for side in ("buy", "sell"):
            quote = await services.trading.quote(who.session_key, artist, side)
            done.append(await getattr(services.trading, side)(who.session_key, quote.token))
        return done

    heartbeat = Heartbeat()
    async with aio_of(game, max_calls=MAX_CALLS) as services:
        beating = asyncio.create_task(heartbeat.beat(services))
        threads_before = threading.active_count()
        receipts = await asyncio.gather(
            *(buy_and_sell(p, a) for p, a in zip(players, seats, strict=False))
        )
        threads_during = threading.active_count()
        beating.cancel()

        assert sum(len(r) for r in receipts) == 2 * PLAYERS
        assert (await services.audit.audit()).ok
        counts = await services.analytics.counts(1)
    print("200 trades through datm.aio:", heartbeat.summary())
    assert sum(n for _, n in counts.trades_per_day) == 2 * PLAYERS
    for who, (bought, sold) in zip(players, receipts, strict=True):
        assert sold.money == expected.STARTING_MONEY - bought.price + sold.price
        ledger = game.ledger(who.player)
        assert sold.money == expected.STARTING_MONEY + sum(e.amount for e in ledger)
    assert heartbeat.most_running <= MAX_CALLS
    assert threads_during - threads_before <= MAX_CALLS
    assert max(heartbeat.lateness) < ROUGH_LATENESS_SECONDS, heartbeat.summary()


async def test_a_call_cancelled_while_waiting_for_its_turn_never_runs(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0].mbid
    quote = game.trading.quote(who.session_key, artist, "buy")
    release = threading.Event()
    async with aio_of(game, max_calls=1) as services:
        blocker = asyncio.create_task(services.run(release.wait, 10))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(services.trading.buy(who.session_key, quote.token))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        assert await blocker
        await services.drain()
        assert await services.trading.receipt(who.session_key, quote.token) is None
        bought = await services.trading.buy(who.session_key, quote.token)  # unused: works
        assert bought.price == quote.price


async def test_a_cancelled_running_call_keeps_its_slot_until_it_ends(game: Game) -> None:
    release = threading.Event()
    async with aio_of(game, max_calls=1) as services:
        running = asyncio.create_task(services.run(release.wait, 10))
        await asyncio.sleep(0.05)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert services.running == 1  # the thread goes on: a slot stays taken
        second = asyncio.create_task(services.run(lambda: "second"))
        await asyncio.sleep(0.05)
        assert not second.done()  # waits in the queue, not on a thread of its own
        release.set()
        assert await second == "second"
        assert services.running == 0


async def test_a_call_waiting_for_its_turn_when_the_pool_closes_is_refused(game: Game) -> None:
    release = threading.Event()
    services = datm.aio.services(game.injector, max_calls=1)
    running = asyncio.create_task(services.run(release.wait, 10))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(services.auth.login_link())
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(services.aclose())
    await asyncio.sleep(0.05)
    assert not closing.done()  # it waits for the running call
    release.set()
    await closing
    assert await running
    with pytest.raises(ProgrammingError, match="closed"):
        await waiting
