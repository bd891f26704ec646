"""LeagueService on every backend: leagues, top players, a player's neighbours and
position, per period named by a number of days."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import backends
import expected
import pytest
from harness import Game, unique_name

from datm.domain.errors import DataError, InvalidInput, UnknownLeague, UnknownPlayer
from datm.services.results import LeaderboardEntry, LeagueView, Points

pytestmark = pytest.mark.through_aio  # its cases run through datm.aio too

ALL_DAYS = [0, 1, 2, 7, 8, 31, 32, 365]


@pytest.fixture(
    params=[*backends.BACKENDS, pytest.param("postgres-redis", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """These tests also run with the leaderboards read from Redis."""
    name: str = request.param
    return name


def scored_players(game: Game, holders: int, idle: int = 0) -> dict[str, int]:
    """``holders`` players each holding a different artist through one close, and
    ``idle`` players holding nothing: every name with the points game-rules.md gives."""
    artists = game.affordable()[:holders]
    assert len(artists) == holders
    players = [game.login() for _ in range(holders + idle)]
    numbers = {}
    for who, artist in zip(players, artists, strict=False):
        game.buy(who, artist.mbid)
        numbers[who.player] = (artist.mbid, game.numbers(artist.mbid))
    game.next_day()
    points = {who.player: 0 for who in players}
    for name, (mbid, (listeners, playcount)) in numbers.items():
        now_listeners, now_playcount = game.numbers(mbid)
        points[name] = expected.close_points(now_listeners - listeners, now_playcount - playcount)
    assert game.close.run().finished
    return points


def board(points: dict[str, int]) -> list[LeaderboardEntry]:
    return [LeaderboardEntry(*row) for row in expected.leaderboard(points)]


def test_leagues_are_bronze_silver_and_gold_lowest_first(game: Game) -> None:
    leagues = game.leagues.leagues()

    assert [league.uid for league in leagues] == ["bronze", "silver", "gold"]
    assert [league.rank for league in leagues] == sorted({league.rank for league in leagues})
    assert all(isinstance(league, LeagueView) and league.name for league in leagues)
    with pytest.raises(dataclasses.FrozenInstanceError):
        leagues[0].rank = 9  # type: ignore[misc]


def test_top_ranks_a_leagues_players_by_points_ties_by_name(game: Game) -> None:
    points = scored_players(game, holders=5, idle=2)
    assert len(set(points.values())) >= 4

    top = game.leagues.top("bronze", 10, days=0)

    assert top == board(points)
    idle = [entry for entry in top if entry.points == 0]
    assert len(idle) >= 2 and len({entry.position for entry in idle}) == 1
    assert game.leagues.top("bronze", 3, days=0) == top[:3]


def test_top_of_a_league_without_players_is_empty(game: Game) -> None:
    game.login()

    assert game.leagues.top("silver", 10) == []
    assert game.leagues.top("gold", 10, days=7) == []


def test_top_of_an_unknown_league_is_unknown_league(game: Game) -> None:
    with pytest.raises(UnknownLeague) as refused:
        game.leagues.top("platinum", 10)

    assert refused.value.league == "platinum"
    assert isinstance(refused.value, DataError)


def test_position_is_one_more_than_the_players_with_strictly_more_points(game: Game) -> None:
    points = scored_players(game, holders=4, idle=2)

    for entry in board(points):
        assert game.leagues.position(entry.name, days=0) == entry
        higher = sum(1 for other in points.values() if other > entry.points)
        assert entry.position == higher + 1


def test_near_lists_four_players_above_and_five_below(game: Game) -> None:
    points = scored_players(game, holders=10, idle=3)
    ranked = board(points)
    assert len(ranked) == 13

    middle = ranked[6].name
    first = ranked[0].name
    last = ranked[-1].name

    assert game.leagues.near(middle, days=0) == ranked[2:12]
    assert game.leagues.near(first, days=0) == ranked[:6]
    assert game.leagues.near(last, days=0) == ranked[-5:]


@pytest.mark.parametrize("method", ["near", "position"])
def test_near_or_position_of_an_unknown_player_is_unknown_player(game: Game, method: str) -> None:
    name = unique_name()

    with pytest.raises(UnknownPlayer) as refused:
        getattr(game.leagues, method)(name, 0)

    assert refused.value.player == name


def test_a_negative_number_of_days_is_invalid_input(game: Game) -> None:
    who = game.login()

    with pytest.raises(InvalidInput):
        game.leagues.top("bronze", 10, days=-1)
    with pytest.raises(InvalidInput):
        game.leagues.position(who.player, days=-1)


def test_days_name_the_daily_weekly_monthly_and_all_time_periods(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    game.buy(who, artist.mbid)
    numbers = [game.numbers(artist.mbid)]
    closes = []
    for day in (6, 9, 10):  # Friday of one ISO week, Monday and Tuesday of the next
        game.clock.set(datetime(2026, 11, day, 9, tzinfo=UTC))
        numbers.append(game.numbers(artist.mbid))
        game.close.run()
        (l0, s0), (l1, s1) = numbers[-2:]
        closes.append(expected.close_points(l1 - l0, s1 - s0))
    p1, p2, p3 = closes
    assert p1 and p2 and p3
    periods = {"daily": p3, "weekly": p2 + p3, "monthly": p1 + p2 + p3, "all_time": p1 + p2 + p3}

    for days in ALL_DAYS:
        points = periods[expected.period_of(days)]
        assert game.leagues.position(who.player, days) == LeaderboardEntry(1, who.player, points)
        assert game.leagues.top("bronze", 1, days) == [LeaderboardEntry(1, who.player, points)]

    # A new week without a close: the week's total starts again, the rest stay.
    game.clock.set(datetime(2026, 11, 16, 9, tzinfo=UTC))
    periods["weekly"] = 0
    for days in ALL_DAYS:
        assert game.leagues.position(who.player, days).points == periods[expected.period_of(days)]

    # A close in a new month: daily, weekly and monthly hold only that close.
    game.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
    numbers.append(game.numbers(artist.mbid))
    game.close.run()
    (l0, s0), (l1, s1) = numbers[-2:]
    p4 = expected.close_points(l1 - l0, s1 - s0)
    assert p4
    periods = {"daily": p4, "weekly": p4, "monthly": p4, "all_time": p1 + p2 + p3 + p4}
    for days in ALL_DAYS:
        assert game.leagues.position(who.player, days).points == periods[expected.period_of(days)]
    assert game.players.profile(who.player).points == Points(
        all_time=periods["all_time"],
        daily=periods["daily"],
        weekly=periods["weekly"],
        monthly=periods["monthly"],
    )
