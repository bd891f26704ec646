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
# The first ``limit`` of the board are a prefix of it: whoever has more points than
# one of them is among them, so their ranks are counted among them alone.
TOP = {
    period: text(
        f"WITH t AS (SELECT p.name, {points} AS points FROM players p"
        "  WHERE p.league = :league ORDER BY 2 DESC, 1 LIMIT :limit)"
        " SELECT name, points, rank() OVER (ORDER BY points DESC) - 1 FROM t"
        " ORDER BY points DESC, name"
    )
    for period, points in POINTS.items()
}
# The 4 before the player and the 5 after, each a top-n pass over the league, then
# each one's rank (players with strictly more points) counted.
NEAR = {
    period: text(
        f"WITH me AS (SELECT p.name, p.league, {points} AS points FROM players p"
        "  WHERE p.name = :player),"
        f" s AS (SELECT p.name, {points} AS points FROM players p, me"
        "  WHERE p.league = me.league),"
        " above AS (SELECT s.name, s.points FROM s, me"
        "  WHERE s.points > me.points OR (s.points = me.points AND s.name < me.name)"
        "  ORDER BY s.points, s.name DESC LIMIT 4),"
        " below AS (SELECT s.name, s.points FROM s, me"
        "  WHERE s.points < me.points OR (s.points = me.points AND s.name > me.name)"
        "  ORDER BY s.points DESC, s.name LIMIT 5),"
        " listed AS (SELECT name, points FROM above UNION ALL SELECT name, points FROM me"
        "  UNION ALL SELECT name, points FROM below)"
        " SELECT l.name, l.points, (SELECT count(*) FROM s WHERE s.points > l.points)"
        " FROM listed l ORDER BY l.points DESC, l.name"
    )
    for period, points in POINTS.items()
}
POSITION = {
    period: text(
        f"WITH me AS (SELECT p.name, p.league, {points} AS points FROM players p"
        "  WHERE p.name = :player)"
        " SELECT me.name, me.points, (SELECT count(*) FROM players p"
        f"  WHERE p.league = me.league AND {points} > me.points) FROM me"
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
