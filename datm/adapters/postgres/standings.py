"""The leaderboards counted by Postgres itself: right at every moment, and at full
size a scan of the league per call (hundreds of milliseconds to seconds). Used
when the read model cannot answer (Redis not configured, down, or being rebuilt).
Plain SQL; each call one statement, so one snapshot."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, text

from datm.adapters.postgres.errors import translated
from datm.domain.errors import UnknownLeague, UnknownPlayer
from datm.domain.periods import Period
from datm.domain.ranking import Standing
from datm.ports.leaderboard import Standings

# What each period's stored total is worth today (domain.player.period_points).
_LATEST = "(SELECT max(day) FROM closes WHERE paid_from IS NOT NULL OR finished_at IS NOT NULL)"
POINTS = {
    Period.ALL_TIME: "p.points_all_time",
    Period.DAILY: f"CASE WHEN p.points_day = {_LATEST} THEN p.points_daily ELSE 0 END",
    Period.WEEKLY: "CASE WHEN date_trunc('week', p.points_day)"
    " = date_trunc('week', CAST(:today AS date)) THEN p.points_weekly ELSE 0 END",
    Period.MONTHLY: "CASE WHEN date_trunc('month', p.points_day)"
    " = date_trunc('month', CAST(:today AS date)) THEN p.points_monthly ELSE 0 END",
}
_BOARD = (
    "WITH s AS (SELECT p.name, {points} AS points FROM players p WHERE p.league = {league}),"
    " o AS (SELECT name, points, rank() OVER (ORDER BY points DESC) - 1 AS rnk,"
    "  row_number() OVER (ORDER BY points DESC, name) AS pos FROM s)"
)
_LEAGUE_OF = "(SELECT league FROM players WHERE name = :player)"
TOP = {
    period: text(
        _BOARD.format(points=points, league=":league")
        + " SELECT name, points, rnk FROM o WHERE pos <= :limit ORDER BY pos"
    )
    for period, points in POINTS.items()
}
NEAR = {
    period: text(
        _BOARD.format(points=points, league=_LEAGUE_OF)
        # The player's place as a scalar subquery: computed once (a join with it
        # was planned as a nested loop scanning the board for each row).
        + " SELECT name, points, rnk FROM o"
        " WHERE o.pos - (SELECT pos FROM o AS me WHERE me.name = :player) BETWEEN -4 AND 5"
        " ORDER BY o.pos"
    )
    for period, points in POINTS.items()
}
POSITION = {
    period: text(
        f"WITH s AS (SELECT p.name, {points} AS points FROM players p"
        f"  WHERE p.league = {_LEAGUE_OF})"
        " SELECT me.name, me.points, (SELECT count(*) FROM s WHERE s.points > me.points)"
        " FROM s AS me WHERE me.name = :player"
    )
    for period, points in POINTS.items()
}
LEAGUE_EXISTS = text("SELECT EXISTS (SELECT 1 FROM leagues WHERE uid = :league)")


class PostgresStandings(Standings):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _rows(self, statement: Any, **params: Any) -> list[Standing]:
        with translated(), self._engine.connect() as conn:
            rows = conn.execute(statement, params).all()
        return [Standing(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing]:
        found = self._rows(TOP[period], league=league, limit=limit, today=today)
        if not found:
            with translated(), self._engine.connect() as conn:
                if not conn.execute(LEAGUE_EXISTS, {"league": league}).scalar():
                    raise UnknownLeague(league)
        return found

    def near(self, player: str, period: Period, today: date) -> list[Standing]:
        found = self._rows(NEAR[period], player=player, today=today)
        if not found:
            raise UnknownPlayer(player)
        return found

    def position(self, player: str, period: Period, today: date) -> Standing:
        found = self._rows(POSITION[period], player=player, today=today)
        if not found:
            raise UnknownPlayer(player)
        return found[0]
