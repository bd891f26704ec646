"""Most traded and the counts stay right on every backend while Postgres summarises
trades up to a mark minutes ago (adapters/postgres/trade_summaries.py): read before
and after a day ends, just after midnight, across a close, with trades after the
close, and for windows and all time read again as days pass; trades just before and
after a mark, one committed late (within SETTLE) with an older stamp, and readers
moving the marks at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

from harness import Game

from datm.services.results import LoginResult, TradedArtist


def expected_most_traded(
    buys: list[tuple[date, str]], names: dict[str, str], today: date, days: int | None
) -> list[TradedArtist]:
    since = None if days is None else today - timedelta(days=days - 1)
    counted = Counter(m for d, m in buys if since is None or d >= since)
    ranked = sorted(counted.items(), key=lambda c: (-c[1], c[0]))
    return [TradedArtist(m, names[m], n) for m, n in ranked[:10]]


def check(
    game: Game, buys: list[tuple[date, str]], trades: Counter[date], names: dict[str, str]
) -> None:
    today = game.clock.today()
    for days in (1, 2, 3, 7, None):
        assert game.market.most_traded(10, days) == expected_most_traded(buys, names, today, days)
    for days in (1, 2, 7):
        since = today - timedelta(days=days - 1)
        counted = tuple(sorted((d, n) for d, n in trades.items() if d >= since))
        assert game.analytics.counts(days).trades_per_day == counted


def test_most_traded_and_counts_agree_with_the_trades_across_days_and_closes(
    game: Game,
) -> None:
    pool = iter(game.login_until(40))  # enough players for shares; one buy each
    artists = game.cheapest(3)
    names = {a.mbid: game.market.market_data(a.mbid).name for a in artists}
    holders: dict[str, list[LoginResult]] = {a.mbid: [] for a in artists}
    buys: list[tuple[date, str]] = []
    trades: Counter[date] = Counter()

    def buy(which: int) -> None:
        mbid = artists[which].mbid
        who = next(pool)
        game.buy(who, mbid)
        holders[mbid].append(who)
        buys.append((game.clock.today(), mbid))
        trades[game.clock.today()] += 1

    def sell(which: int) -> None:
        mbid = artists[which].mbid
        game.sell(holders[mbid].pop(), mbid)
        trades[game.clock.today()] += 1

    plan = [
        [(buy, 0), (buy, 0), (sell, 0)],
        [(buy, 1), (buy, 1), (buy, 0)],
        [(sell, 1), (buy, 2), (buy, 2), (sell, 0)],
        [(buy, 0), (buy, 1)],
    ]
    for day_number, day_trades in enumerate(plan):
        check(game, buys, trades, names)  # before the day's trades
        for trade, which in day_trades:
            trade(which)
            check(game, buys, trades, names)
        if day_number == 1:
            game.close.run()  # then more trades the same day, after the close
            buy(1)
            check(game, buys, trades, names)
        # Just after midnight: the day ended but is not summarised yet; then later on.
        midnight = datetime.combine(game.clock.today() + timedelta(days=1), time.min, tzinfo=UTC)
        game.clock.set(midnight + timedelta(seconds=1))
        check(game, buys, trades, names)
        game.clock.advance(timedelta(hours=2))
        check(game, buys, trades, names)
    game.next_day(5)  # every day of the plan now older than the shorter windows
    check(game, buys, trades, names)


# --- marks: every CHUNK (10 min), SETTLE (5 min) behind the read ---------------


class Book:
    """A game's buys and trades by the day of their stamps, as the reads should count
    them, and the trades themselves, stamped at the clock's time."""

    def __init__(self, game: Game, players: int = 40, artists: int = 8) -> None:
        self.game = game
        self.pool: Iterator[LoginResult] = iter(game.login_until(players))
        self.artists = [a.mbid for a in game.cheapest(artists)]
        self.names = {m: game.market.market_data(m).name for m in self.artists}
        self.buys: list[tuple[date, str]] = []
        self.trades: Counter[date] = Counter()

    def at(self, day: date, hour: int, minute: int, second: int = 0) -> None:
        self.game.clock.set(datetime.combine(day, time(hour, minute, second), tzinfo=UTC))

    def buy(self, which: int) -> None:
        mbid = self.artists[which]
        self.game.buy(next(self.pool), mbid)
        self.buys.append((self.game.clock.today(), mbid))
        self.trades[self.game.clock.today()] += 1

    def check(self) -> None:
        check(self.game, self.buys, self.trades, self.names)

    def late(self, stamped: datetime, which: int) -> None:
        """A buy stamped at ``stamped`` that commits at the clock's time (within SETTLE)."""
        now = self.game.clock.now()
        assert now - timedelta(minutes=5) <= stamped <= now
        self.game.clock.set(stamped)
        self.buy(which)
        self.game.clock.set(now)


def test_trades_just_before_and_after_a_mark_are_each_counted_once(game: Game) -> None:
    book = Book(game)
    day = game.next_day()
    book.at(day, 12, 0)
    book.buy(0)  # on a mark
    book.check()
    book.at(day, 12, 9, 59)
    book.buy(1)  # the last second of a chunk
    book.at(day, 12, 10)
    book.buy(1)  # the first of the next
    book.buy(2)
    for minute, second in ((14, 59), (15, 0), (15, 1), (19, 59), (20, 0)):
        book.at(day, 12, minute, second)  # the mark 12:00, then 12:10 from 12:15 on
        book.check()
    book.at(day, 12, 24, 59)
    book.buy(2)
    book.buy(0)
    for minute in (25, 35, 59):
        book.at(day, 12, minute)
        book.check()
    book.at(day, 18, 0)  # hours without a read: the mark moves over them at once
    book.buy(0)
    book.check()
    book.at(day + timedelta(days=1), 9, 0)
    book.check()


def test_a_trade_committed_late_with_an_older_stamp_is_counted(game: Game) -> None:
    book = Book(game)
    day = game.next_day()
    book.at(day, 12, 0)
    book.buy(0)
    book.at(day, 12, 25)
    book.check()  # the mark moves to 12:20
    book.late(datetime.combine(day, time(12, 20), tzinfo=UTC), 1)  # on the mark
    book.check()
    book.at(day, 12, 34, 59)
    book.check()
    book.late(datetime.combine(day, time(12, 29, 59), tzinfo=UTC), 2)  # before the next
    book.check()
    book.at(day, 12, 35)  # the mark moves to 12:30, over both late trades
    book.check()
    book.at(day, 13, 0)
    book.check()


def test_reads_just_after_midnight_count_yesterdays_late_trades_for_yesterday(
    game: Game,
) -> None:
    book = Book(game)
    day = game.next_day()
    book.at(day, 23, 50)
    book.buy(0)
    book.check()
    book.at(day, 23, 59, 59)
    book.buy(1)
    book.check()
    tomorrow = day + timedelta(days=1)
    book.at(tomorrow, 0, 0)
    book.buy(2)  # the first instant of the day
    book.check()
    book.at(tomorrow, 0, 4, 59)
    book.check()  # yesterday not complete: the mark is 23:50
    book.late(datetime.combine(day, time(23, 59, 59), tzinfo=UTC), 2)
    book.late(datetime.combine(tomorrow, time(0, 0), tzinfo=UTC), 0)
    book.check()
    for minute in (5, 9, 10, 15, 30):  # yesterday complete; marks 00:00, then 00:10 ...
        book.at(tomorrow, 0, minute)
        book.check()
        book.buy(minute % 8)  # a share each: 5, 1, 2, 7, 6
    book.check()


def test_readers_moving_the_marks_at_once_count_each_trade_once(game: Game) -> None:
    book = Book(game)
    day = game.next_day()
    for hour, which in ((10, 0), (10, 3), (11, 1), (11, 0), (12, 2), (12, 1)):
        book.at(day, hour, 0)
        book.buy(which)
    book.at(day, 12, 30)  # every mark a chunk or more behind: each reader moves it

    start = threading.Barrier(6)

    def reading(read: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            start.wait()
            return read()

        return run

    since = day - timedelta(days=1)
    calls = [
        reading(lambda: game.market.most_traded(10, 2)),
        reading(lambda: game.market.most_traded(10, 2)),
        reading(lambda: game.market.most_traded(10, None)),
        reading(lambda: game.market.most_traded(10, None)),
        reading(lambda: game.analytics.counts(2).trades_per_day),
        reading(lambda: game.analytics.counts(2).trades_per_day),
    ]
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = [f.result() for f in [pool.submit(call) for call in calls]]
    window = expected_most_traded(book.buys, book.names, day, 2)
    counted = tuple(sorted((d, n) for d, n in book.trades.items() if d >= since))
    every = expected_most_traded(book.buys, book.names, day, None)
    assert answers == [window, window, every, every, counted, counted]
    book.check()  # a span added twice would stay in the summaries
    book.at(day, 23, 0)
    book.check()
