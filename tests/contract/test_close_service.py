"""CloseService on every backend: the daily close turns the day's last.fm numbers
into points and dividends for the holders of record, once per day; trading is
refused during the cut-off only."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import expected
import pytest
from harness import Game
from market_locks import HookedLock

from datm.domain.artist import Artist
from datm.domain.errors import InvalidInput, MarketLockBusy
from datm.domain.player import LedgerKind
from datm.ports.clock import Clock
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.close import CloseService
from datm.services.results import (
    CloseProgress,
    CloseReport,
    CloseStep,
    FailedArtist,
    HistoryEntry,
    LoginResult,
    Points,
)
from datm.settings import Settings


class Crash(Exception):
    """A close dying half way (the process killed, a bug)."""


def held_artists(game: Game, count: int) -> tuple[list[LoginResult], list[str]]:
    """``count`` players, each holding a different artist bought today."""
    players = [game.login() for _ in range(count)]
    artists = [a.mbid for a in game.affordable()[:count]]
    for who, mbid in zip(players, artists, strict=True):
        game.buy(who, mbid)
    return players, artists


def untimed(report: CloseReport) -> CloseReport:
    """The report without its timings, which no test can know in advance; they are
    checked to be consistent instead."""
    assert 0 <= report.trading_refused_seconds <= report.duration_seconds
    return dataclasses.replace(report, duration_seconds=0.0, trading_refused_seconds=0.0)


def closing(
    game: Game, batch: int, lock: MarketLock | None = None, **settings: Any
) -> CloseService:
    """The game's close, paying ``batch`` holdings of record and closing ``batch``
    artists per transaction."""
    chosen = game.get(Settings).replace(close_pay_batch=batch, close_pay_holdings=batch, **settings)
    return CloseService(
        game.get(CloseBook),  # type: ignore[type-abstract]
        game.get(LastfmPort),  # type: ignore[type-abstract]
        lock or game.get(MarketLock),  # type: ignore[type-abstract]
        game.get(Clock),  # type: ignore[type-abstract]
        chosen,
        game.get(Leaderboard),  # type: ignore[type-abstract]
    )


def list_unknown_artist(game: Game) -> str:
    """An artist listed in the game that last.fm no longer knows: its numbers cannot be had."""
    mbid = str(uuid.uuid4())
    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        uow.artists.add(Artist(mbid, "Gone", 100, 1, 100, 10, 10, game.clock.today()))
        uow.commit()
    return mbid


def close_of(before: tuple[int, int], after: tuple[int, int]) -> tuple[int, int]:
    """(points, dividend) of one artist whose numbers went from ``before`` to ``after``."""
    d_listeners, d_playcount = after[0] - before[0], after[1] - before[1]
    return (
        expected.close_points(d_listeners, d_playcount),
        expected.close_dividend(d_listeners, d_playcount),
    )


def test_the_close_pays_holders_dividends_and_points_by_the_formulas(game: Game) -> None:
    (alice, bob), (a, b) = held_artists(game, 2)
    idle = game.login()
    unheld = game.affordable()[2].mbid
    listing_day = game.clock.today()
    listed = {m: game.market.market_data(m) for m in (a, b, unheld)}
    before = {m: game.numbers(m) for m in listed}
    money = {w.player: game.players.money(w.session_key) for w in (alice, bob, idle)}
    day = game.next_day()
    after = {m: game.numbers(m) for m in listed}
    paid = {m: close_of(before[m], after[m]) for m in listed}
    assert all(dividend > 0 for _, dividend in paid.values())

    report = game.close.run()

    assert untimed(report) == CloseReport(
        day=day,
        already_closed=False,
        finished=True,
        artists_closed=3,
        artists_skipped=0,
        failed=(),
        dividends_paid=paid[a][1] + paid[b][1],
        points_awarded=paid[a][0] + paid[b][0],
        holders_paid=2,
        duration_seconds=0.0,
        trading_refused_seconds=0.0,
    )
    for who, mbid in ((alice, a), (bob, b)):
        points, dividend = paid[mbid]
        assert game.players.money(who.session_key) == money[who.player] + dividend
        last = game.ledger(who.player)[-1]
        assert (last.amount, last.kind) == (dividend, LedgerKind.DIVIDEND)
        assert game.players.profile(who.player).points == Points(points, points, points, points)
    assert game.players.money(idle.session_key) == money[idle.player]
    assert game.players.profile(idle.player).points == Points(0, 0, 0, 0)
    for mbid, data in listed.items():
        points, dividend = paid[mbid]
        assert game.market.history(mbid, 2) == [
            HistoryEntry(listing_day, expected.listing_price(*before[mbid]), 0, 0),
            HistoryEntry(day, data.buy_price, points, dividend),
        ]
        now = game.market.market_data(mbid)
        assert (now.points, now.dividend) == (points, dividend)
    summaries = {s.mbid: s for batch in game.analytics.artists() for s in batch}
    for mbid in listed:
        assert (summaries[mbid].last_listeners, summaries[mbid].last_playcount) == after[mbid]
    assert game.audit.audit().ok


def test_the_close_reports_progress_as_artists_paid_of_artists_of_record(game: Game) -> None:
    held_artists(game, 3)
    game.market.market_data(game.affordable()[3].mbid)
    game.next_day()
    calls: list[tuple[int, int]] = []

    closing(game, batch=1).run(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # a batch of one artist each

    game.next_day()
    calls.clear()
    game.close.run(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 4)]  # the default batch holds them all


def test_the_close_reports_each_step_the_cut_off_first(game: Game) -> None:
    held_artists(game, 2)
    game.next_day()
    events: list[CloseProgress] = []

    closing(game, batch=1).run(on_step=events.append)

    rates = [e.per_second for e in events if e.step is CloseStep.FETCHED]
    assert rates and all(rate >= 0 for rate in rates)
    day = game.clock.today()
    assert [dataclasses.replace(e, per_second=0.0) for e in events] == [
        CloseProgress(CloseStep.CUT_OFF, 2, 2, day=day),
        CloseProgress(CloseStep.FETCHED, 2, 2, day=day),
        CloseProgress(CloseStep.HOLDERS, 0, 2, day=day),  # what earlier runs paid
        CloseProgress(CloseStep.HOLDERS, 1, 2, day=day),  # one holding each
        CloseProgress(CloseStep.HOLDERS, 2, 2, day=day),
        CloseProgress(CloseStep.PAID, 0, 2, day=day),
        CloseProgress(CloseStep.PAID, 1, 2, day=day),
        CloseProgress(CloseStep.PAID, 2, 2, day=day),
    ]
    assert [str(step) for step in CloseStep] == ["cut-off", "fetched", "holders", "paid"]


def test_trading_is_refused_for_the_cut_off_only(game: Game) -> None:
    held_artists(game, 2)
    game.next_day()
    pause = 0.2
    lock = game.get(MarketLock)  # type: ignore[type-abstract]
    open_while: list[tuple[CloseStep, bool]] = []

    def note(event: CloseProgress) -> None:
        open_while.append((event.step, lock.is_open()))
        time.sleep(pause)

    report = game.close.run(on_step=note)

    assert open_while == [
        (CloseStep.CUT_OFF, True),
        (CloseStep.FETCHED, True),
        (CloseStep.HOLDERS, True),
        (CloseStep.HOLDERS, True),
        (CloseStep.PAID, True),
        (CloseStep.PAID, True),
    ]
    assert 0 < report.trading_refused_seconds < pause  # steps slept with the market open
    assert report.duration_seconds >= 6 * pause


def test_an_artist_whose_numbers_cannot_be_had_keeps_them_with_its_reason(
    game: Game, caplog: pytest.LogCaptureFixture
) -> None:
    (alice,), (held,) = held_artists(game, 1)
    gone = list_unknown_artist(game)
    (bob,) = [game.login()]
    game.buy(bob, gone)
    money = game.players.money(bob.session_key)
    day = game.next_day()
    events: list[CloseProgress] = []

    with caplog.at_level(logging.INFO, logger="datm.services.close"):
        report = game.close.run(on_step=events.append)

    assert (report.finished, report.artists_closed, report.holders_paid) == (True, 2, 2)
    [failed] = report.failed
    assert isinstance(failed, FailedArtist)
    assert (failed.mbid, failed.code) == (gone, "unknown_artist")
    assert gone in failed.reason
    fetched = [e for e in events if e.step is CloseStep.FETCHED][-1]
    assert (fetched.done, fetched.total, fetched.failed) == (2, 2, 1)
    # Its previous numbers: points 0, dividend 0, a history point at its price.
    assert game.players.money(bob.session_key) == money
    assert game.players.profile(bob.player).points == Points(0, 0, 0, 0)
    gone_history = game.market.history(gone, 7)[-1]
    assert (gone_history.day, gone_history.points, gone_history.dividend) == (day, 0, 0)
    summaries = {s.mbid: s for batch in game.analytics.artists() for s in batch}
    assert (summaries[gone].last_listeners, summaries[gone].last_playcount) == (10, 10)
    assert game.market.history(held, 7)[-1].day == day
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(gone in r.getMessage() and "unknown_artist" in r.getMessage() for r in warnings)
    assert game.analytics.is_market_open() is True

    again = game.close.run()  # closed: the reason stays in the record, nothing is redone

    assert (again.already_closed, again.finished, again.artists_closed) == (True, True, 0)
    assert game.players.money(alice.session_key) > 0


def test_the_close_logs_its_cut_off_and_its_end_at_info(
    game: Game, caplog: pytest.LogCaptureFixture
) -> None:
    held_artists(game, 1)
    day = game.next_day()

    with caplog.at_level(logging.INFO, logger="datm.services.close"):
        report = game.close.run()

    messages = [r.getMessage() for r in caplog.records if r.name == "datm.services.close"]
    assert any(
        f"close of {day}: cut-off at" in m and "1 artists and 1 holdings" in m for m in messages
    )
    assert any(f"close of {day} finished: 1 artists closed" in m for m in messages)
    assert f"{report.dividends_paid} in dividends" in messages[-1]


def test_a_second_close_of_the_same_day_changes_nothing(game: Game) -> None:
    (alice,), (artist,) = held_artists(game, 1)
    day = game.next_day()
    first = game.close.run()
    assert first.dividends_paid > 0
    before = game.snapshot(alice)
    history = game.market.history(artist, 7)

    again = game.close.run()
    explicit = game.close.run(day=day)

    assert (again.day, again.already_closed, again.finished) == (day, True, True)
    assert (again.dividends_paid, again.points_awarded, again.artists_closed) == (0, 0, 0)
    assert (again.holders_paid, again.trading_refused_seconds) == (0, 0.0)  # never locked
    assert untimed(explicit) == untimed(again)
    assert game.snapshot(alice) == before
    assert game.market.history(artist, 7) == history


@dataclass(frozen=True)
class HoldersToPay:
    """Three players each holding a different artist, the day after: their money
    before the close, and (points, dividend) the close owes for each artist."""

    players: list[LoginResult]
    artists: list[str]
    money: dict[str, int]
    paid: dict[str, tuple[int, int]]

    @classmethod
    def made(cls, game: Game) -> HoldersToPay:
        players, artists = held_artists(game, 3)
        before = {m: game.numbers(m) for m in artists}
        money = {w.player: game.players.money(w.session_key) for w in players}
        game.next_day()
        return cls(
            players, artists, money, {m: close_of(before[m], game.numbers(m)) for m in artists}
        )

    def each_paid_once(self, game: Game) -> None:
        """Each holder got its artist's dividend (one ledger entry) and points, once."""
        for who, mbid in zip(self.players, self.artists, strict=True):
            assert (
                game.players.money(who.session_key) == self.money[who.player] + self.paid[mbid][1]
            )
            assert game.players.profile(who.player).points.all_time == self.paid[mbid][0]
            dividends = [e for e in game.ledger(who.player) if e.kind is LedgerKind.DIVIDEND]
            assert len(dividends) == 1
        assert game.audit.audit().ok


def test_a_close_that_dies_paying_the_holders_pays_nobody_twice_when_run_again(
    game: Game,
) -> None:
    holders = HoldersToPay.made(game)
    players, artists, paid = holders.players, holders.artists, holders.paid

    def die_after_the_first(event: CloseProgress) -> None:
        if event.step is CloseStep.HOLDERS and event.done == 1:
            raise Crash

    with pytest.raises(Crash):
        closing(game, batch=1).run(on_step=die_after_the_first)
    assert game.analytics.is_market_open() is True

    report = game.close.run()

    assert (report.finished, report.artists_closed, report.artists_skipped) == (True, 3, 0)
    assert report.holders_paid == 2  # this run's payments: the first player's came before
    assert report.trading_refused_seconds == 0.0  # the cut-off stands: no second one
    first = dict(zip((w.player for w in players), artists, strict=True))[
        min(w.player for w in players)
    ]  # holders are paid by name
    assert report.dividends_paid == sum(paid[m][1] for m in artists if m != first)
    holders.each_paid_once(game)


def test_a_close_that_dies_closing_the_artists_closes_each_once_when_run_again(
    game: Game,
) -> None:
    holders = HoldersToPay.made(game)
    artists = holders.artists

    def die_after_the_first(done: int, total: int) -> None:
        if done == 1:
            raise Crash

    with pytest.raises(Crash):
        closing(game, batch=1).run(progress=die_after_the_first)
    assert game.analytics.is_market_open() is True
    today = game.clock.today()
    closed = [m for m in artists if game.market.history(m, 1)[-1:]]
    assert closed == [min(artists)]  # artists are closed by MBID

    report = game.close.run()

    assert (report.finished, report.artists_closed, report.artists_skipped) == (True, 2, 1)
    assert (report.holders_paid, report.dividends_paid) == (0, 0)  # all paid before
    assert report.trading_refused_seconds == 0.0
    for mbid in artists:
        assert [h.day for h in game.market.history(mbid, 1)] == [today]
    holders.each_paid_once(game)


def test_the_closing_price_is_the_last_closing_price_of_later_moves(game: Game) -> None:
    (alice,), (artist,) = held_artists(game, 1)
    listing = game.market.history(artist, 1)[0].price
    game.next_day()
    game.close.run()
    before = game.market.market_data(artist)
    closing = game.market.history(artist, 1)[-1].price
    assert closing == before.buy_price != listing
    with_old = expected.price_after_sell(before.buy_price, listing, 0, before.max_shares)
    with_new = expected.price_after_sell(before.buy_price, closing, 0, before.max_shares)
    assert with_old != with_new

    game.sell(alice, artist)

    assert game.market.market_data(artist).buy_price == with_new


def test_the_close_raises_max_shares_with_todays_players_and_listeners(game: Game) -> None:
    artist = game.affordable()[0].mbid
    listed = game.market.market_data(artist)
    assert listed.max_shares == 1
    game.next_day()
    listeners, _ = game.numbers(artist)
    top = game.top_listeners()
    players = expected.players_for_shares(3, listeners, top) + 2
    game.login_until(players)

    game.close.run()

    shares = expected.max_shares(players, listeners, top)
    assert shares >= 3
    data = game.market.market_data(artist)
    assert (data.max_shares, data.remaining) == (shares, shares)


def test_the_close_never_lowers_max_shares_below_the_holders(game: Game) -> None:
    artist = game.affordable()[0].mbid
    listeners, _ = game.numbers(artist)
    everyone = game.login_until(expected.players_for_shares(2, listeners, game.top_listeners()))
    assert game.market.market_data(artist).max_shares == 2
    holders, others = everyone[:2], everyone[2:]
    for who in holders:
        game.buy(who, artist)
    for who in others:
        game.players.delete(who.session_key)
    game.next_day()
    listeners, _ = game.numbers(artist)
    assert expected.max_shares(2, listeners, game.top_listeners()) == 1

    game.close.run()

    data = game.market.market_data(artist)
    assert (data.max_shares, data.remaining) == (2, 0)
    assert game.audit.audit().ok


def test_the_close_takes_the_market_lock_and_waits_when_another_holds_it(game: Game) -> None:
    held_artists(game, 1)
    game.next_day()
    lock = game.get(MarketLock)  # type: ignore[type-abstract]
    impatient = closing(game, batch=10, market_lock_timeout_seconds=0.05)

    with game.analytics.hold_market_lock(), pytest.raises(MarketLockBusy):
        impatient.run()

    assert lock.is_open()
    assert game.close.run().finished  # nothing was fixed by the refused run


def test_a_close_of_a_future_day_is_invalid_and_writes_nothing(game: Game) -> None:
    (alice,), _ = held_artists(game, 1)
    before = game.snapshot(alice)

    with pytest.raises(InvalidInput):
        game.close.run(day=game.clock.today() + timedelta(days=1))

    assert game.snapshot(alice) == before


def test_a_close_of_a_day_before_the_latest_close_is_invalid(game: Game) -> None:
    (alice,), _ = held_artists(game, 1)
    yesterday = game.next_day() - timedelta(days=1)
    game.next_day()
    game.close.run()
    before = game.snapshot(alice)

    with pytest.raises(InvalidInput):
        game.close.run(day=yesterday)

    assert game.snapshot(alice) == before


def test_a_close_with_nothing_listed_finishes_with_nothing_to_pay(game: Game) -> None:
    game.login()
    day = game.next_day()

    report = game.close.run()

    assert untimed(report) == CloseReport(day, False, True, 0, 0, (), 0, 0, 0, 0.0, 0.0)


def test_the_close_pays_the_holders_of_record_not_those_after_the_cut_off(game: Game) -> None:
    """A buy after the cut-off is not paid; a holder of record who sold after it
    is; a reset or a deletion after it is paid nothing; the history keeps the
    price of the cut-off, and max shares its N."""
    (seller, resetter, leaver), artists = held_artists(game, 3)
    sold = artists[0]
    late_buyer = game.login()
    before = {m: game.numbers(m) for m in artists}
    money = {w.player: game.players.money(w.session_key) for w in (seller, resetter, late_buyer)}
    day = game.next_day()
    paid = {m: close_of(before[m], game.numbers(m)) for m in artists}
    prices: dict[str, int] = {}

    def after_the_cut_off(event: CloseProgress) -> None:
        if event.step is not CloseStep.CUT_OFF:
            return
        prices.update({m: game.market.market_data(m).buy_price for m in artists})
        sale = game.sell(seller, sold)
        money[seller.player] += sale.price
        money[late_buyer.player] -= game.buy(late_buyer, sold).price
        game.players.reset(resetter.session_key)
        game.players.delete(leaver.session_key)
        game.login()  # a player after the cut-off: not in N

    report = game.close.run(on_step=after_the_cut_off)

    assert report.finished and report.holders_paid == 1
    assert report.dividends_paid == paid[sold][1]
    assert game.players.money(seller.session_key) == money[seller.player] + paid[sold][1]
    assert game.players.profile(seller.player).points.all_time == paid[sold][0]
    assert game.players.money(late_buyer.session_key) == money[late_buyer.player]
    assert game.players.profile(late_buyer.player).points == Points(0, 0, 0, 0)
    assert game.players.money(resetter.session_key) == expected.STARTING_MONEY
    assert game.players.profile(resetter.player).points == Points(0, 0, 0, 0)
    for mbid in artists:
        point = game.market.history(mbid, 1)[-1]
        assert (point.day, point.price) == (day, prices[mbid])
        assert (point.points, point.dividend) == paid[mbid]
    assert game.audit.audit().ok


def test_a_close_uses_the_cut_off_of_its_first_run_when_run_again(game: Game) -> None:
    (alice,), (artist,) = held_artists(game, 1)
    before = game.numbers(artist)
    money = game.players.money(alice.session_key)
    game.next_day()
    dividend = close_of(before, game.numbers(artist))[1]

    def crash_after_the_cut_off(event: CloseProgress) -> None:
        if event.step is CloseStep.CUT_OFF:
            game.sell(alice, artist)  # after the cut-off: alice stays a holder of record
            raise Crash

    with pytest.raises(Crash):
        game.close.run(on_step=crash_after_the_cut_off)
    sale = game.ledger(alice.player)[-1].amount

    report = game.close.run()

    assert (report.finished, report.holders_paid, report.trading_refused_seconds) == (True, 1, 0.0)
    assert game.players.money(alice.session_key) == money + sale + dividend


def test_days_close_in_order_an_earlier_unfinished_close_first(game: Game) -> None:
    (alice,), (artist,) = held_artists(game, 1)
    first_day = game.next_day()

    def crash_once_fetched(event: CloseProgress) -> None:
        if event.step is CloseStep.FETCHED:
            raise Crash

    with pytest.raises(Crash):
        game.close.run(on_step=crash_once_fetched)
    second_day = game.next_day()

    report = game.close.run()

    assert report.day == second_day and report.finished
    assert [h.day for h in game.market.history(artist, 3)][-2:] == [first_day, second_day]
    dividends = [e for e in game.ledger(alice.player) if e.kind is LedgerKind.DIVIDEND]
    assert [e.reference.rsplit(":", 1)[1] for e in dividends] == [
        first_day.isoformat(),
        second_day.isoformat(),
    ][: len(dividends)]
    assert game.audit.audit().ok


@pytest.mark.parametrize("given", [0, "", False, 0.0, "2026-01-01", 20260101, [], object()])
def test_a_day_that_is_not_a_date_is_invalid_and_writes_nothing(game: Game, given: Any) -> None:
    (alice,), _ = held_artists(game, 1)
    game.next_day()
    before = game.snapshot(alice)

    with pytest.raises(InvalidInput):
        game.close.run(day=given)

    assert game.snapshot(alice) == before


def test_a_reset_as_soon_as_the_cut_off_lets_the_market_go_is_paid_nothing(game: Game) -> None:
    """On Postgres the holders of record are copied after the lock is released,
    from the snapshot taken under it: a reset then commits before the copy does."""
    (alice, bob), (reset_artist, kept_artist) = held_artists(game, 2)
    before = game.numbers(kept_artist)
    bob_money = game.players.money(bob.session_key)
    game.next_day()
    dividend = close_of(before, game.numbers(kept_artist))[1]
    lock = HookedLock(
        game.get(MarketLock),  # type: ignore[type-abstract]
        on_released=lambda: game.players.reset(alice.session_key),
    )

    report = closing(game, batch=10, lock=lock).run()

    assert report.finished and report.holders_paid == 1
    assert game.players.money(alice.session_key) == expected.STARTING_MONEY
    assert not [e for e in game.ledger(alice.player) if e.kind is LedgerKind.DIVIDEND]
    assert game.players.profile(alice.player).points == Points(0, 0, 0, 0)
    assert game.players.money(bob.session_key) == bob_money + dividend
    assert game.market.history(reset_artist, 1)[-1].day == game.clock.today()
    assert game.audit.audit().ok


def test_a_holder_of_record_who_leaves_and_comes_back_after_the_cut_off_is_paid_nothing(
    game: Game,
) -> None:
    """Found by bench/soak.py: the same last.fm user deleting the account after the
    cut-off and logging in again before the payment is a new player, who held
    nothing at the cut-off (on Postgres the new row once passed the reset mark)."""
    (leaver,), (artist,) = held_artists(game, 1)
    before = game.numbers(artist)
    game.next_day()
    assert close_of(before, game.numbers(artist)) != (0, 0)
    back: list[LoginResult] = []

    def leave_and_come_back(event: CloseProgress) -> None:
        if event.step is CloseStep.CUT_OFF:
            game.players.delete(leaver.session_key)
            back.append(game.login(leaver.player))

    report = game.close.run(on_step=leave_and_come_back)

    (again,) = back
    assert again.is_new and again.player == leaver.player
    assert report.finished and report.holders_paid == 0 and report.dividends_paid == 0
    assert game.players.money(again.session_key) == expected.STARTING_MONEY
    assert game.ledger(again.player) == []
    assert game.players.profile(again.player).points == Points(0, 0, 0, 0)
    assert game.audit.audit().ok
