"""Leagues and leaderboards: top n, a player's rank, and the players near them."""

from __future__ import annotations

from injector import inject

from datm.domain import ranking
from datm.domain.errors import UnknownLeague
from datm.domain.periods import period_for_days
from datm.domain.player import check_player_name
from datm.ports.clock import Clock
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from datm.services.results import LeaderboardEntry, LeagueView
from datm.services.views import check_count


def _entries(standings: list[ranking.Standing]) -> list[LeaderboardEntry]:
    return [LeaderboardEntry(s.position, s.name, s.points) for s in standings]


class LeagueService:
    @inject
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def leagues(self) -> list[LeagueView]:
        with self._uow() as uow:
            return [LeagueView(x.uid, x.name, x.rank) for x in uow.leagues.all()]

    def top(self, league: str, limit: int = 10, days: int = 0) -> list[LeaderboardEntry]:
        """The best ``limit`` players of a league for the period ``days`` names."""
        limit = check_count("limit", limit)
        with self._uow() as uow:
            board = self._board(uow, league, days)
        return _entries(board[:limit])

    def near(self, player: str, days: int = 0) -> list[LeaderboardEntry]:
        """The player with the 4 players above and the 5 below, with positions."""
        check_player_name(player)
        with self._uow() as uow:
            league = uow.players.get(player).league
            board = self._board(uow, league, days)
        return _entries(ranking.near(board, player))

    def position(self, player: str, days: int = 0) -> LeaderboardEntry:
        """The player's own place in their league for the period."""
        check_player_name(player)
        with self._uow() as uow:
            league = uow.players.get(player).league
            board = self._board(uow, league, days)
        mine = next(s for s in board if s.name == player)
        return LeaderboardEntry(mine.position, mine.name, mine.points)

    def _board(self, uow: UnitOfWork, league: str, days: int) -> list[ranking.Standing]:
        period = period_for_days(days)
        if uow.leagues.find(league) is None:
            raise UnknownLeague(league)
        scores = uow.players.scores(league, period, uow.closes.latest_day(), self._clock.today())
        return ranking.leaderboard(scores)
