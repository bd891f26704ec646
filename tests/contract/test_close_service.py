"""CloseService on every backend: the daily close turns the day's last.fm numbers
into points and dividends, once per day, under the market lock."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from datetime import timedelta

import expected
import pytest
from harness import Game

from datm.domain.artist import Artist
from datm.domain.errors import InvalidInput, MarketClosed
from datm.domain.player import LedgerKind
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.results import (
    CloseProgress,
    CloseReport,
    CloseStep,
    FailedArtist,
    HistoryEntry,
    LoginResult,
    Points,
)


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


def test_the_close_reports_progress_as_done_and_total(game: Game) -> None:
    held_artists(game, 3)
    game.market.market_data(game.affordable()[3].mbid)
    game.next_day()
    calls: list[tuple[int, int]] = []

    game.close.run(progress=lambda done, total: calls.append((done, total)))

    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_the_close_reports_each_step_the_cut_off_first(game: Game) -> None:
    held_artists(game, 2)
    game.next_day()
    events: list[CloseProgress] = []

    game.close.run(on_step=events.append)

    # Today's close fetches and pays each artist in turn; a close whose steps run
    # apart reports through the same events.
    assert events == [
        CloseProgress(CloseStep.CUT_OFF, 2, 2),
        CloseProgress(CloseStep.FETCHED, 1, 2),
        CloseProgress(CloseStep.PAID, 1, 2),
        CloseProgress(CloseStep.FETCHED, 2, 2),
        CloseProgress(CloseStep.PAID, 2, 2),
    ]
    assert [str(step) for step in CloseStep] == ["cut-off", "fetched", "paid"]


def test_the_close_reports_how_long_trading_was_refused(game: Game) -> None:
    held_artists(game, 2)
    game.next_day()
    pause = 0.05

    report = game.close.run(progress=lambda done, total: time.sleep(pause))

    assert report.trading_refused_seconds >= 2 * pause  # both artists, under the lock
    assert report.duration_seconds >= report.trading_refused_seconds


def test_an_artist_whose_numbers_cannot_be_had_is_left_open_with_its_reason(
    game: Game, caplog: pytest.LogCaptureFixture
) -> None:
    (alice,), (held,) = held_artists(game, 1)
    gone = list_unknown_artist(game)
    money = game.players.money(alice.session_key)
    day = game.next_day()
    events: list[CloseProgress] = []

    with caplog.at_level(logging.INFO, logger="datm.services.close"):
        report = game.close.run(on_step=events.append)

    assert (report.finished, report.artists_closed, report.holders_paid) == (False, 1, 1)
    [failed] = report.failed
    assert isinstance(failed, FailedArtist)
    assert (failed.mbid, failed.code) == (gone, "unknown_artist")
    assert gone in failed.reason
    assert events[-2:] == [
        CloseProgress(CloseStep.FETCHED, 2, 2, failed=1),
        CloseProgress(CloseStep.PAID, 2, 2, failed=1),
    ]
    assert game.players.money(alice.session_key) == money + report.dividends_paid
    assert game.market.history(held, 7)[-1].day == day
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(gone in r.getMessage() and "unknown_artist" in r.getMessage() for r in warnings)
    assert game.analytics.is_market_open() is True

    again = game.close.run()  # the day stays open while an artist is: a rerun tries it

    assert (again.already_closed, again.finished, again.artists_closed) == (False, False, 0)
    assert (again.artists_skipped, [f.mbid for f in again.failed]) == (1, [gone])
    assert game.players.money(alice.session_key) == money + report.dividends_paid


def test_the_close_logs_its_start_and_its_end_at_info(
    game: Game, caplog: pytest.LogCaptureFixture
) -> None:
    held_artists(game, 1)
    day = game.next_day()

    with caplog.at_level(logging.INFO, logger="datm.services.close"):
        report = game.close.run()

    messages = [r.getMessage() for r in caplog.records if r.name == "datm.services.close"]
    assert any(f"close of {day}: market closed; 1 artists to close" in m for m in messages)
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


def test_a_close_that_dies_half_way_pays_nobody_twice_when_run_again(game: Game) -> None:
    players, artists = held_artists(game, 3)
    before = {m: game.numbers(m) for m in artists}
    money = {w.player: game.players.money(w.session_key) for w in players}
    game.next_day()
    paid = {m: close_of(before[m], game.numbers(m)) for m in artists}

    def die_after_the_first(done: int, total: int) -> None:
        if done == 1:
            raise Crash

    with pytest.raises(Crash):
        game.close.run(progress=die_after_the_first)
    assert game.analytics.is_market_open() is True

    report = game.close.run()

    assert (report.finished, report.artists_closed, report.artists_skipped) == (True, 2, 1)
    assert report.holders_paid == 2  # this run's payments: the first artist's came before
    first = min(artists)
    assert report.dividends_paid == sum(paid[m][1] for m in artists if m != first)
    for who, mbid in zip(players, artists, strict=True):
        assert game.players.money(who.session_key) == money[who.player] + paid[mbid][1]
        assert game.players.profile(who.player).points.all_time == paid[mbid][0]
        dividends = [e for e in game.ledger(who.player) if e.kind is LedgerKind.DIVIDEND]
        assert len(dividends) == 1
    assert game.audit.audit().ok


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


def test_trading_is_refused_while_the_close_runs_and_reads_go_on(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0].mbid
    game.market.market_data(artist)
    game.next_day()
    quote = game.trading.quote(who.session_key, artist, "buy")
    seen: list[object] = []

    def try_to_trade(done: int, total: int) -> None:
        seen.append(game.analytics.is_market_open())
        for attempt in (
            lambda: game.trading.buy(who.session_key, quote.token),
            lambda: game.trading.quote(who.session_key, artist, "buy"),
        ):
            try:
                attempt()
            except MarketClosed as closed:
                seen.append(type(closed))
        seen.append(game.market.market_data(artist).mbid)

    game.close.run(progress=try_to_trade)

    assert seen == [False, MarketClosed, MarketClosed, artist]
    assert game.analytics.is_market_open() is True
    assert game.trading.buy(who.session_key, quote.token).price == quote.price


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
