"""What the leaderboard model reads from Postgres: players' totals, what a close
has paid, the whole game for a rebuild. Plain SQL, each statement its own
transaction (the pool is in autocommit); the snapshot is one REPEATABLE READ
transaction streamed through a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres.errors import translated
from datm.domain.boards import BoardRow
from datm.ports.leaderboard import BoardSnapshot, LeaderboardSource, PaidSince

CHUNK = 10_000  # players per chunk of a snapshot

ROW_COLUMNS = (
    "p.name, p.league, p.points_all_time, p.points_daily, p.points_weekly,"
    " p.points_monthly, p.points_day"
)
# The cluster's identifier and the database's OID: the same from every client,
# whatever host name it connects by; a database made again is another game.
IDENTITY = text(
    "SELECT (SELECT system_identifier FROM pg_control_system())::text || ':' || d.oid::text"
    " FROM pg_database d WHERE d.datname = current_database()"
)
EPOCH = text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM board_epoch")
BUMP_EPOCH = text("SELECT nextval('board_epoch')")
PLAYERS = text(f"SELECT {ROW_COLUMNS} FROM players p WHERE p.name = ANY(:names)")
PAID_MARK = text("SELECT holders_paid_through FROM closes WHERE day = :day")
PAID_SINCE = text(
    f"SELECT {ROW_COLUMNS} FROM players p WHERE p.name IN ("
    " SELECT DISTINCT h.player FROM close_holders h"
    " WHERE h.day = :day AND h.player > :after AND h.player <= :through)"
)
# As CloseRepository.latest_day: the newest close that paid or finished.
LATEST_CLOSE = text(
    "SELECT max(day) FROM closes WHERE paid_from IS NOT NULL OR finished_at IS NOT NULL"
)
LEAGUES = text("SELECT uid FROM leagues ORDER BY uid")
ALL_PLAYERS = text(f"SELECT {ROW_COLUMNS} FROM players p")


def _row(r: Any) -> BoardRow:
    return BoardRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6])


class PostgresLeaderboardSource(LeaderboardSource):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._identity: str | None = None

    def _scalar(self, statement: Any, **params: Any) -> Any:
        with translated(), self._engine.connect() as conn:
            return conn.execute(statement, params).scalar()

    def identity(self) -> str:
        if self._identity is None:
            self._identity = str(self._scalar(IDENTITY))
        return self._identity

    def epoch(self) -> int:
        return int(self._scalar(EPOCH))

    def bump_epoch(self) -> None:
        self._scalar(BUMP_EPOCH)

    def players(self, names: Sequence[str]) -> list[BoardRow]:
        if not names:
            return []
        with translated(), self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(PLAYERS, {"names": list(names)})]

    def paid_since(self, day: date, after: str) -> PaidSince:
        with translated(), self._engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():  # the mark, the latest close and the players of one instant
                through = conn.execute(PAID_MARK, {"day": day}).scalar() or ""
                latest = conn.execute(LATEST_CLOSE).scalar()
                if through <= after:
                    return PaidSince(through, latest, [])
                params = {"day": day, "after": after, "through": through}
                rows = [_row(r) for r in conn.execute(PAID_SINCE, params)]
                return PaidSince(through, latest, rows)

    @contextmanager
    def snapshot(self) -> Iterator[BoardSnapshot]:
        with translated(), self._engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                epoch = int(conn.execute(EPOCH).scalar_one())
                latest = conn.execute(LATEST_CLOSE).scalar()
                leagues = tuple(str(uid) for uid in conn.execute(LEAGUES).scalars())
                yield BoardSnapshot(epoch, latest, leagues, _stream(conn))


def _stream(conn: Connection) -> Iterator[list[BoardRow]]:
    result = conn.execution_options(stream_results=True, max_row_buffer=CHUNK).execute(ALL_PLAYERS)
    while chunk := result.fetchmany(CHUNK):
        yield [_row(r) for r in chunk]
