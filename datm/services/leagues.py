"""Leagues and leaderboards: top n, a player's rank, and the players near them.

Each read asks the read model first (Redis, about a millisecond at any size) and
the database when the model cannot vouch for its answer (``ports.leaderboard``).
"""

from __future__ import annotations

from injector import inject

from datm.domain.periods import period_for_days
from datm.domain.player import MAX_NAME_LENGTH
from datm.domain.ranking import Standing
from datm.ports.clock import Clock
from datm.ports.leaderboard import Leaderboard, Standings
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.checks import check_count, check_days, check_name
from datm.services.results import LeaderboardEntry, LeagueView

MAX_LEAGUE_LENGTH = 64


def _entry(s: Standing) -> LeaderboardEntry:
    return LeaderboardEntry(s.position, s.name, s.points)


class LeagueService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        board: Leaderboard,
        standings: Standings,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._board = board
        self._standings = standings

    def leagues(self) -> list[LeagueView]:
        with self._uow() as uow:
            return [LeagueView(x.uid, x.name, x.rank) for x in uow.leagues.all()]

    def top(self, league: str, limit: int = 10, days: int = 0) -> list[LeaderboardEntry]:
        """The best ``limit`` players of a league for the period ``days`` names."""
        check_name("league", league, MAX_LEAGUE_LENGTH)
        limit = check_count("limit", limit)
        period, today = period_for_days(check_days("days", days)), self._clock.today()
        found = self._board.top(league, period, limit, today)
        if found is None:
            found = self._standings.top(league, period, limit, today)
        return [_entry(s) for s in found]

    def near(self, player: str, days: int = 0) -> list[LeaderboardEntry]:
        """The player with the 4 players above and the 5 below, with positions."""
        check_name("player", player, MAX_NAME_LENGTH)
        period, today = period_for_days(check_days("days", days)), self._clock.today()
        found = self._board.near(player, period, today)
        if found is None:
            found = self._standings.near(player, period, today)
        return [_entry(s) for s in found]

    def position(self, player: str, days: int = 0) -> LeaderboardEntry:
        """The player's own place in their league for the period."""
        check_name("player", player, MAX_NAME_LENGTH)
        period, today = period_for_days(check_days("days", days)), self._clock.today()
        found = self._board.position(player, period, today)
        if found is None:
            found = self._standings.position(player, period, today)
        return _entry(found)

    def rebuild(self) -> int:
        """Build the leaderboards' read model again from the database (after Redis
        lost it, or players were changed behind datm's back); the players on it,
        0 when there is no model (no REDIS_URL). Readers use the database meanwhile."""
        return self._board.rebuild(self._clock.today())
