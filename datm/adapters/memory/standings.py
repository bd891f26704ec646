"""The leaderboards counted from the store's players, the way the rules say: the
in-memory backend's ``Standings`` (its games are small), and the absent read
model of every configuration without Redis."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from datm.domain import ranking
from datm.domain.errors import UnknownLeague
from datm.domain.periods import Period
from datm.domain.ranking import Standing
from datm.ports.leaderboard import Leaderboard, Standings
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class ScanStandings(Standings):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing]:
        with self._uow() as uow:
            return self._board(uow, league, period, today)[:limit]

    def near(self, player: str, period: Period, today: date) -> list[Standing]:
        with self._uow() as uow:
            league = uow.players.get(player).league
            return ranking.near(self._board(uow, league, period, today), player)

    def position(self, player: str, period: Period, today: date) -> Standing:
        with self._uow() as uow:
            league = uow.players.get(player).league
            board = self._board(uow, league, period, today)
        return next(s for s in board if s.name == player)

    @staticmethod
    def _board(uow: UnitOfWork, league: str, period: Period, today: date) -> list[Standing]:
        if uow.leagues.find(league) is None:
            raise UnknownLeague(league)
        scores = uow.players.scores(league, period, uow.closes.latest_day(), today)
        return ranking.leaderboard(scores)


class NoLeaderboard(Leaderboard):
    """No read model: every read goes to ``Standings``."""

    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing] | None:
        return None

    def near(self, player: str, period: Period, today: date) -> list[Standing] | None:
        return None

    def position(self, player: str, period: Period, today: date) -> Standing | None:
        return None

    @contextmanager
    def changing(self, players: Sequence[str], today: date) -> Iterator[None]:
        yield

    @contextmanager
    def paying(self, day: date, today: date) -> Iterator[None]:
        yield

    def caught_up(self) -> None:
        return None

    def rebuild(self, today: date) -> int:
        return 0
