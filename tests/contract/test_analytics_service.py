"""AnalyticsService and AuditService on every backend: listed artists in batches,
counts, the market lock, and the ledger check."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import Game

from datm.domain.errors import InvalidInput, MarketClosed, ProgrammingError
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.audit import AuditReport, MoneyMismatch, ShareMismatch
from datm.services.results import ArtistSummary, Counts, MarketStatus


def test_artists_come_in_batches_that_cover_every_listed_artist_once(game: Game) -> None:
    listed = {a.mbid: game.market.market_data(a.mbid) for a in game.affordable()[:5]}
    game.login_until(2)

    batches = list(game.analytics.artists(batch_size=2))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    flat = [summary for batch in batches for summary in batch]
    assert sorted(s.mbid for s in flat) == sorted(listed)
    assert len({s.mbid for s in flat}) == 5
    for summary in flat:
        data = listed[summary.mbid]
        assert isinstance(summary, ArtistSummary)
        assert (summary.name, summary.price) == (data.name, data.buy_price)
        assert (summary.max_shares, summary.remaining) == (data.max_shares, data.remaining)
        listeners, playcount = game.numbers(summary.mbid)
        assert (summary.last_listeners, summary.last_playcount) == (listeners, playcount)
    with pytest.raises(dataclasses.FrozenInstanceError):
        flat[0].price = 1  # type: ignore[misc]


def test_one_batch_holds_everything_when_it_is_big_enough(game: Game) -> None:
    for artist in game.affordable()[:3]:
        game.market.market_data(artist.mbid)

    assert [len(batch) for batch in game.analytics.artists(batch_size=200)] == [3]


def test_artists_of_an_empty_market_are_no_batches(game: Game) -> None:
    assert list(game.analytics.artists()) == []


@pytest.mark.parametrize("size", [0, -5, 10_001])
def test_a_batch_size_out_of_range_is_invalid_input(game: Game, size: int) -> None:
    with pytest.raises(InvalidInput):
        list(game.analytics.artists(batch_size=size))


def test_counts_give_players_listed_artists_and_trades_per_day(game: Game) -> None:
    alice, bob, _ = game.login(), game.login(), game.login()
    first, second = game.cheapest(2)
    first_day = game.clock.today()
    game.buy(alice, first.mbid)
    game.sell(alice, first.mbid)
    game.market.market_data(game.affordable()[0].mbid)
    second_day = game.next_day(2)
    game.buy(bob, second.mbid)

    counts = game.analytics.counts(days=3)

    assert counts == Counts(
        players=3, listed_artists=3, trades_per_day=((first_day, 2), (second_day, 1))
    )
    assert game.analytics.counts(days=2).trades_per_day == ((second_day, 1),)
    assert game.analytics.counts(days=1).trades_per_day == ((second_day, 1),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        counts.players = 0  # type: ignore[misc]


def test_counts_of_a_new_game_are_zero(game: Game) -> None:
    assert game.analytics.counts() == Counts(0, 0, ())


def test_acquiring_the_market_lock_closes_trading_until_it_is_released(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0].mbid
    quote = game.trading.quote(who.session_key, artist, "buy")
    assert game.analytics.is_market_open() is True

    game.analytics.acquire_market_lock()
    try:
        assert game.analytics.is_market_open() is False
        with pytest.raises(MarketClosed):
            game.trading.buy(who.session_key, quote.token)
        assert game.market.market_data(artist).remaining == 1
    finally:
        game.analytics.release_market_lock()

    assert game.analytics.is_market_open() is True
    assert game.trading.buy(who.session_key, quote.token).price == quote.price


def test_releasing_a_market_lock_that_is_not_held_is_a_programming_error(game: Game) -> None:
    with pytest.raises(ProgrammingError):
        game.analytics.release_market_lock()

    assert game.analytics.is_market_open() is True


def test_holding_the_market_lock_reopens_the_market_even_after_an_error(game: Game) -> None:
    with pytest.raises(RuntimeError), game.analytics.hold_market_lock():
        assert game.analytics.is_market_open() is False
        raise RuntimeError("the batch job failed")

    assert game.analytics.is_market_open() is True


def test_the_market_status_of_an_open_market_has_no_holder(game: Game) -> None:
    assert game.analytics.market_status() == MarketStatus(open=True, holder=None)


def test_the_market_status_names_the_process_holding_the_lock_and_since_when(
    game: Game,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)  # the server's clock may lag a little
    game.analytics.acquire_market_lock()
    try:
        status = game.analytics.market_status()
    finally:
        game.analytics.release_market_lock()

    assert status.open is False
    holder = status.holder
    assert holder is not None
    assert (holder.pid, holder.waiting) == (os.getpid(), False)
    assert holder.application is not None and holder.application.startswith("datm")
    assert holder.host
    assert holder.since is not None and before <= holder.since <= datetime.now(UTC)
    with pytest.raises(dataclasses.FrozenInstanceError):
        holder.pid = 1  # type: ignore[misc]
    assert game.analytics.market_status() == MarketStatus(open=True, holder=None)


def test_the_market_status_shows_a_close_waiting_for_a_trade_in_flight(game: Game) -> None:
    who = game.login()
    acquired = threading.Event()

    def close_the_market() -> None:
        game.analytics.acquire_market_lock(timeout=10)
        acquired.set()

    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        uow.market.require_open()  # a trade in flight: the market lock taken shared
        uow.players.get_for_update(who.player)
        closer = threading.Thread(target=close_the_market, daemon=True)
        closer.start()
        deadline = time.monotonic() + 10
        while (status := game.analytics.market_status()).holder is None:
            assert time.monotonic() < deadline, "the close never asked for the lock"
            time.sleep(0.01)
        assert status.open is False and status.holder is not None
        assert status.holder.waiting is True
        assert not acquired.is_set()
    closer.join(10)
    try:
        assert acquired.is_set()
        holder = game.analytics.market_status().holder
        assert holder is not None and holder.waiting is False
    finally:
        game.analytics.release_market_lock()


def test_closing_the_market_lock_releases_it_once_and_is_idempotent(game: Game) -> None:
    lock = game.get(MarketLock)  # type: ignore[type-abstract]
    lock.close()  # holding nothing: nothing to do
    lock.acquire(timeout=5)
    assert game.analytics.is_market_open() is False

    lock.close()
    lock.close()

    assert game.analytics.is_market_open() is True
    with pytest.raises(ProgrammingError):
        lock.release()  # close() let it go: nothing is held any more
    game.analytics.acquire_market_lock()  # and it can be taken again
    game.analytics.release_market_lock()


def test_the_audit_finds_money_and_shares_in_order_after_a_game(game: Game) -> None:
    alice, bob = game.login(), game.login()
    first, second = game.cheapest(2)
    game.buy(alice, first.mbid)
    game.buy(bob, second.mbid)
    game.sell(alice, first.mbid)
    game.next_day()
    game.close.run()
    game.clock.advance(timedelta(hours=1))
    game.players.reset(bob.session_key)

    report = game.audit.audit()

    assert isinstance(report, AuditReport)
    assert report.ok is True
    assert (report.players, report.artists, report.money, report.shares) == (2, 2, (), ())


def test_the_audit_reports_money_and_holders_the_records_do_not_explain(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    receipt = game.buy(who, artist.mbid)
    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        # What a lost write would leave: money without its ledger entry, a holder
        # the artist no longer counts. (Not one counted beyond its shares: a
        # Postgres check refuses holders > max_shares, as the last line of defence.)
        uow.players.get_for_update(who.player).money += 5
        uow.artists.get_for_update(artist.mbid).holders -= 1
        uow.commit()

    report = game.audit.audit()

    assert report.ok is False
    assert report.money == (MoneyMismatch(who.player, receipt.money + 5, receipt.money),)
    assert report.shares == (ShareMismatch(artist.mbid, 0, 1, 1),)
