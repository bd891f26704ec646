"""Most traded and the counts stay right on every backend while Postgres summarises
complete days (adapters/postgres/market_reads.py): read before and after a day
ends, just after midnight, across a close, with trades after the close, and for
windows and all time read again as days pass."""

from __future__ import annotations

from collections import Counter
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
