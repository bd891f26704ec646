"""The daily close on Postgres: a cut-off under the market lock for a moment,
set-based payment in large batches. Plain SQL, apart from the trade's pipeliner.

Cut-off: a REPEATABLE READ transaction takes its snapshot with its first statement,
issued while the market lock is held (every trade before it has committed, none
after it can start); the lock is released at once, and the holders of record,
prices and N are copied from that snapshot with trading open again. So trading is
refused for the lock's round trips only, whatever the size of the game. The copy
commits with the ``closes`` row's ``cut_off_at``: until then there is no cut-off,
and a close killed during it takes a new one when run again.

Payment, once every artist's numbers are in, in two passes of large batches:
- the holders, by ranges of player names: one transaction per range locks the
  ``closes`` row (two closes of a day take ranges in turn), and one statement
  pays every holding of record of the range (players, with their ledger rows from
  the rows it updated) and moves the row's mark past it. Each player row is
  written once per close, the players' pages in name order; paying by batches of
  artists instead wrote a player once per batch holding one of its artists, and
  swept the whole players table each time (docs/PERFORMANCE.md).
- the artists: per batch, their rows of ``close_artists`` locked (SKIP LOCKED: two
  closes never close one artist), the artists (locked in MBID order) and history
  written, the batch marked paid.
Trophies are checked once, at the finish. A holder of record whose ``reset_seq``
is past the cut-off's mark reset (or left) since, and is not paid: a mark on the
player's own row, which the UPDATE checks again on the row's latest version when
it had to wait for a reset's lock, and which a reset during the cut-off's copy
(that cannot see the copy's rows to delete them) sets all the same. A trade, a
reset or a deletion waits for no other player's row and no ``closes`` row, so none
can close a cycle with the payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from datm.adapters.postgres import schema_check
from datm.adapters.postgres.errors import translated
from datm.domain import trophies
from datm.domain.closes import (
    ArtistNumbers,
    ArtistOfRecord,
    CloseProgressCounts,
    CloseRecord,
    CutOff,
    PaidBatch,
)
from datm.domain.errors import Conflict
from datm.ports.close import CloseBook

SNAPSHOT_ISOLATION = "REPEATABLE READ"  # the cut-off's copy reads one instant
WRITING = "READ COMMITTED"  # as every other writer: row locks, fresh reads per statement
RECORD_COLUMNS = (
    "day, started_at, finished_at, artists_closed, cut_off_at, players, top_listeners,"
    " paid_from, coalesce(holdings, 0), coalesce(holders_paid, 0), holders_paid_through"
)
RECORD = text(f"SELECT {RECORD_COLUMNS} FROM closes WHERE day = :day")
UNFINISHED_BEFORE = text("SELECT min(day) FROM closes WHERE day < :day AND finished_at IS NULL")
LATEST_DAY = text("SELECT max(day) FROM closes")

# The snapshot of the cut-off: the first statement of its transaction, which also
# reads the reset sequence (no reset is in flight: resets take the market gate).
SNAPSHOT = text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM player_resets")
PUT_CUT_OFF = text(
    "INSERT INTO closes (day, started_at, cut_off_at, players, top_listeners, reset_mark)"
    " VALUES (:day, :at, :at, (SELECT count(*) FROM players), :top, :mark)"
    " ON CONFLICT (day) DO UPDATE SET cut_off_at = excluded.cut_off_at,"
    " players = excluded.players, top_listeners = excluded.top_listeners,"
    " reset_mark = excluded.reset_mark"
    " WHERE closes.cut_off_at IS NULL AND closes.finished_at IS NULL"
    " RETURNING players"
)
# An artist a close of this day already paid (a close begun before revision 0008)
# is not on record again.
COPY_ARTISTS = text(
    "INSERT INTO close_artists (day, mbid, price, last_listeners, last_playcount)"
    " SELECT :day, mbid, price, last_listeners, last_playcount FROM artists"
    " WHERE last_closed_on IS NULL OR last_closed_on < :day ORDER BY mbid"
)
# In key order: the primary key then grows at its right edge, as a bulk load.
COPY_HOLDERS = text(
    "INSERT INTO close_holders (day, player, mbid)"
    " SELECT :day, h.player, h.mbid FROM holdings h JOIN close_artists c"
    " ON c.day = :day AND c.mbid = h.mbid ORDER BY h.player, h.mbid"
)
PUT_HOLDINGS = text("UPDATE closes SET holdings = :holdings, holders_paid = 0 WHERE day = :day")
# The copies' statistics, for the plans of every statement after (autovacuum may be
# late or off: without them the planner guesses, and guessed a scan per batch).
ANALYZE_RECORD = text("ANALYZE close_artists, close_holders")

TO_FETCH = text(
    "SELECT mbid, last_listeners, last_playcount FROM close_artists"
    " WHERE day = :day AND listeners IS NULL AND mbid > :after ORDER BY mbid LIMIT :limit"
)
NUMBER_COLUMNS = (
    "mbid",
    "listeners",
    "playcount",
    "points",
    "dividend",
    "max_shares",
    "failure_code",
    "failure_reason",
)
NUMBER_TYPES = ("text", "bigint", "bigint", "bigint", "bigint", "integer", "text", "text")
STORE_NUMBERS = text(
    "UPDATE close_artists c SET "
    + ", ".join(f"{column} = v.{column}" for column in NUMBER_COLUMNS[1:])
    + " FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(NUMBER_COLUMNS, NUMBER_TYPES, strict=True))
    + ") AS v("
    + ", ".join(NUMBER_COLUMNS)
    + ") WHERE c.day = :day AND c.mbid = v.mbid AND c.listeners IS NULL"
)

# --- payment: the holders by ranges of names, then the artists --------------------
# The closes row, locked: two closes of one day pay the holders' ranges in turn.
TAKE_RANGE = text(
    "SELECT reset_mark, coalesce(holders_paid_through, '') FROM closes"
    " WHERE day = :day AND cut_off_at IS NOT NULL FOR UPDATE"
)
NUMBERS_MISSING = text(
    "SELECT EXISTS (SELECT 1 FROM close_artists WHERE day = :day AND listeners IS NULL)"
)
# The last player of the next ``limit`` holdings: the range ends with all of theirs.
RANGE_END = text(
    "SELECT max(player) FROM (SELECT player FROM close_holders"
    " WHERE day = :day AND player > :after ORDER BY player LIMIT :limit) AS r"
)
# Planning is cheap here and compiling is not: JIT would cost more than it saves
# on statements over a batch's thousands of rows. A batch's holders (a hundred
# thousand at full size) are grouped and sorted in memory, not on disk.
BATCH_SETTINGS = text("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
# Each holder's dividends and points summed (an UPDATE changes a row once), the
# lazily rolled-over period totals of Player.add_points, one ledger entry per
# dividend and artist as the per-artist close wrote them.
PAY_HOLDERS = text(
    "WITH due AS ("
    "  SELECT h.player, c.mbid, c.points, c.dividend FROM close_holders h"
    "  JOIN close_artists c ON c.day = :day AND c.mbid = h.mbid"
    "  WHERE h.day = :day AND h.player > :after AND h.player <= :upto),"
    " per_player AS ("
    "  SELECT player, sum(points) AS points, sum(dividend) AS dividend FROM due"
    "  GROUP BY player ORDER BY player),"  # the players' index (and often heap) in order
    " paid AS ("
    "  UPDATE players p SET money = p.money + s.dividend,"
    "   points_all_time = p.points_all_time + s.points,"
    "   points_daily = CASE WHEN p.points_day = :day THEN p.points_daily ELSE 0 END + s.points,"
    "   points_weekly = CASE WHEN date_trunc('week', p.points_day) = date_trunc('week', :day)"
    "    THEN p.points_weekly ELSE 0 END + s.points,"
    "   points_monthly = CASE WHEN date_trunc('month', p.points_day) = date_trunc('month', :day)"
    "    THEN p.points_monthly ELSE 0 END + s.points,"
    "   points_day = :day"
    "  FROM per_player s WHERE p.name = s.player AND p.reset_seq <= :mark RETURNING p.name),"
    " entries AS ("
    "  INSERT INTO ledger (player, amount, kind, at, reference)"
    "  SELECT d.player, d.dividend, 'dividend', :at, d.mbid || ':' || :day_text"
    "  FROM due d JOIN paid ON paid.name = d.player WHERE d.dividend <> 0"
    "  ORDER BY d.player, d.mbid RETURNING 1)"
    " SELECT count(*), count(paid.name),"
    "  coalesce(sum(d.dividend) FILTER (WHERE paid.name IS NOT NULL), 0),"
    "  coalesce(sum(d.points) FILTER (WHERE paid.name IS NOT NULL), 0),"
    "  (SELECT count(*) FROM entries)"
    " FROM due d LEFT JOIN paid ON paid.name = d.player"
)
PAID_THROUGH = text(
    "UPDATE closes SET holders_paid_through = :upto, holders_paid = holders_paid + :holdings,"
    " paid_from = coalesce(paid_from, :at) WHERE day = :day"
)
TAKE_BATCH = text(
    "SELECT mbid FROM close_artists WHERE day = :day AND NOT paid AND listeners IS NOT NULL"
    " ORDER BY mbid LIMIT :limit FOR UPDATE SKIP LOCKED"
)
# The batch as a relation: its size is known to the planner, which then probes
# the key of close_artists for it instead of scanning it.
_BATCH = "unnest(CAST(:batch AS text[])) AS b(mbid)"
CLOSE_ARTISTS = text(
    "UPDATE artists a SET last_close_price = c.price, last_listeners = c.listeners,"
    " last_playcount = c.playcount, last_closed_on = :day,"
    " max_shares = GREATEST(a.holders, c.max_shares)"
    " FROM close_artists c"
    " WHERE c.day = :day AND c.mbid = a.mbid AND a.mbid IN"
    f" (SELECT l.mbid FROM {_BATCH} JOIN artists l ON l.mbid = b.mbid"
    "   ORDER BY l.mbid FOR UPDATE OF l)"
)
PUT_HISTORY = text(
    "INSERT INTO history (mbid, day, price, points, dividend)"
    f" SELECT c.mbid, c.day, c.price, c.points, c.dividend FROM {_BATCH}"
    " JOIN close_artists c ON c.day = :day AND c.mbid = b.mbid"
    " ON CONFLICT (mbid, day) DO UPDATE SET price = excluded.price,"
    " points = excluded.points, dividend = excluded.dividend"
)
MARK_PAID = text(
    f"UPDATE close_artists c SET paid = true FROM {_BATCH} WHERE c.day = :day AND c.mbid = b.mbid"
)
PAYING = text("UPDATE closes SET paid_from = coalesce(paid_from, :at) WHERE day = :day")

PROGRESS = text(
    "SELECT count(*), count(listeners), count(*) FILTER (WHERE paid), count(failure_code),"
    " (SELECT coalesce(holdings, 0) FROM closes WHERE day = :day),"
    " (SELECT coalesce(holders_paid, 0) FROM closes WHERE day = :day)"
    " FROM close_artists WHERE day = :day"
)
KEPT = text(
    "SELECT mbid, failure_code, failure_reason FROM close_artists"
    " WHERE day = :day AND failure_code IS NOT NULL ORDER BY mbid"
)
FINISH = text(
    "UPDATE closes SET finished_at = :at,"
    " artists_closed = (SELECT count(*) FROM close_artists WHERE day = :day)"
    " WHERE day = :day AND cut_off_at IS NOT NULL AND finished_at IS NULL"
    " AND coalesce(holders_paid, 0) = coalesce(holdings, 0)"
    " AND NOT EXISTS (SELECT 1 FROM close_artists WHERE day = :day AND NOT paid)"
    " RETURNING day"
)
IS_FINISHED = text("SELECT finished_at IS NOT NULL FROM closes WHERE day = :day")
# The rules of domain.trophies, once per close, for every holder of record it paid
# (awarded once): their holdings priced in one pass, as a set. At the finish, not
# per batch: a batch's few thousand players would each cost a pass over holdings.
AWARD_TROPHIES = text(
    "INSERT INTO trophies (player, uid, awarded_at)"
    " SELECT s.name, r.uid, :at FROM ("
    "  SELECT p.name, p.trades_made, count(h.mbid) AS held,"
    "   p.money + coalesce(sum(datm_sell_price(a.price)), 0) AS worth"
    "  FROM (SELECT DISTINCT player FROM close_holders WHERE day = :day) o"
    "  JOIN players p ON p.name = o.player"
    "  LEFT JOIN holdings h ON h.player = p.name LEFT JOIN artists a ON a.mbid = h.mbid"
    "  WHERE p.reset_seq <= (SELECT reset_mark FROM closes WHERE day = :day)"
    "  GROUP BY p.name, p.trades_made, p.money) s"
    " CROSS JOIN (VALUES ('first_trade'), ('collector'), ('tycoon')) AS r(uid)"
    " WHERE CASE r.uid WHEN 'first_trade' THEN s.trades_made >= 1"
    "  WHEN 'collector' THEN s.held >= :collector ELSE s.worth >= :tycoon END"
    " ON CONFLICT DO NOTHING"
)
# A finished close keeps only why artists kept their numbers. The holders of
# record of finished closes (a million rows at full size) go at once when no
# unfinished close has any, which the table lock makes sure of: a cut-off still
# copying would otherwise lose its rows.
FORGET_PAID = text("DELETE FROM close_artists WHERE day = :day AND failure_code IS NULL")
LOCK_HOLDERS_TABLE = text("LOCK TABLE close_holders IN ACCESS EXCLUSIVE MODE")
UNFINISHED_HOLDERS = text(
    "SELECT EXISTS (SELECT 1 FROM closes c WHERE c.finished_at IS NULL"
    " AND EXISTS (SELECT 1 FROM close_holders h WHERE h.day = c.day))"
)
FORGET_ALL_HOLDERS = text("TRUNCATE close_holders")
FORGET_FINISHED_HOLDERS = text(
    "DELETE FROM close_holders WHERE day IN (SELECT day FROM closes WHERE finished_at IS NOT NULL)"
)


TROPHY_RULES = {"collector": trophies.COLLECTOR_HOLDINGS, "tycoon": trophies.TYCOON_NET_WORTH}


class PostgresCloseBook(CloseBook):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def _connect(self, isolation: str = "AUTOCOMMIT") -> Connection:
        """A connection; the pool's are in autocommit (engine.py), so each
        transaction here asks for its isolation level, and the pool resets it."""
        if not self._schema.verified:
            self._schema.require(self._engine)
        conn = self._engine.connect()
        if isolation != "AUTOCOMMIT":
            conn.execution_options(isolation_level=isolation)
        return conn

    def _one(self, statement: Any, **params: Any) -> Any:
        with translated(), self._connect() as conn:
            return conn.execute(statement, params).first()

    # --- the record -------------------------------------------------------------------

    def record(self, day: date) -> CloseRecord | None:
        row = self._one(RECORD, day=day)
        return None if row is None else CloseRecord(*row)

    def unfinished_before(self, day: date) -> date | None:
        found = self._one(UNFINISHED_BEFORE, day=day)[0]
        return found if isinstance(found, date) else None

    def latest_day(self) -> date | None:
        found = self._one(LATEST_DAY)[0]
        return found if isinstance(found, date) else None

    # --- the cut-off ------------------------------------------------------------------

    def cut_off(
        self,
        day: date,
        started_at: datetime,
        top_listeners: int,
        market: AbstractContextManager[object],
    ) -> CutOff:
        done = self._existing_cut_off(day)
        if done is not None:
            return done
        with translated(), self._connect(SNAPSHOT_ISOLATION) as conn:
            transaction = conn.begin()
            with market:  # trading is refused for this round trip only
                mark = conn.execute(SNAPSHOT).scalar_one()
            params = {"day": day, "at": started_at, "top": top_listeners, "mark": mark}
            row = conn.execute(PUT_CUT_OFF, params).first()
            if row is None:  # finished, or cut off by another close meanwhile
                transaction.rollback()
                taken = self._existing_cut_off(day)
                if taken is None:
                    raise Conflict(f"the close of {day} changed during its cut-off")
                return taken
            artists = conn.execute(COPY_ARTISTS, params).rowcount
            holdings = conn.execute(COPY_HOLDERS, params).rowcount
            conn.execute(PUT_HOLDINGS, {"day": day, "holdings": holdings})
            conn.execute(ANALYZE_RECORD)
            transaction.commit()
            players = int(row[0])
        return CutOff(day, started_at, players, top_listeners, artists, holdings)

    def _existing_cut_off(self, day: date) -> CutOff | None:
        record = self.record(day)
        if record is None or record.cut_off_at is None:
            return None
        counts = self.progress(day)
        return CutOff(
            day,
            record.cut_off_at,
            record.players or 0,
            record.top_listeners or 0,
            counts.artists,
            counts.holdings,
        )

    # --- fresh numbers ----------------------------------------------------------------

    def to_fetch(self, day: date, after: str | None, limit: int) -> list[ArtistOfRecord]:
        params = {"day": day, "after": after or "", "limit": limit}
        with translated(), self._connect() as conn:
            rows = conn.execute(TO_FETCH, params).all()
        return [ArtistOfRecord(r[0], r[1], r[2]) for r in rows]

    def store_numbers(self, day: date, numbers: Sequence[ArtistNumbers]) -> int:
        if not numbers:
            return 0
        failures = [n.failure or (None, None) for n in numbers]
        params: dict[str, Any] = {
            "day": day,
            "mbid": [n.mbid for n in numbers],
            "listeners": [n.listeners for n in numbers],
            "playcount": [n.playcount for n in numbers],
            "points": [n.points for n in numbers],
            "dividend": [n.dividend for n in numbers],
            "max_shares": [n.max_shares for n in numbers],
            "failure_code": [code for code, _ in failures],
            "failure_reason": [reason for _, reason in failures],
        }
        with translated(), self._connect(WRITING) as conn, conn.begin():
            return int(conn.execute(STORE_NUMBERS, params).rowcount)

    # --- payment ----------------------------------------------------------------------

    def pay_holders(self, day: date, limit: int, at: datetime) -> PaidBatch:
        with translated(), self._connect(WRITING) as conn, conn.begin():
            taken = conn.execute(TAKE_RANGE, {"day": day}).first()
            if taken is None or conn.execute(NUMBERS_MISSING, {"day": day}).scalar():
                return PaidBatch(0, 0, 0, 0)
            mark, after = taken
            upto = conn.execute(RANGE_END, {"day": day, "after": after, "limit": limit}).scalar()
            if upto is None:
                return PaidBatch(0, 0, 0, 0)
            params = {
                "day": day,
                "mark": mark,
                "after": after,
                "upto": upto,
                "day_text": day.isoformat(),
                "at": at,
            }
            conn.execute(BATCH_SETTINGS)
            holdings, holders, dividends, points, _ = conn.execute(PAY_HOLDERS, params).one()
            conn.execute(PAID_THROUGH, {**params, "holdings": holdings})
        return PaidBatch(0, int(holders), int(dividends), int(points), int(holdings))

    def pay_artists(self, day: date, limit: int, at: datetime) -> PaidBatch:
        with translated(), self._connect(WRITING) as conn, conn.begin():
            batch = list(conn.execute(TAKE_BATCH, {"day": day, "limit": limit}).scalars())
            if not batch:
                return PaidBatch(0, 0, 0, 0)
            params = {"day": day, "batch": batch, "at": at}
            for statement in (CLOSE_ARTISTS, PUT_HISTORY, MARK_PAID, PAYING):
                conn.execute(statement, params)
        return PaidBatch(len(batch), 0, 0, 0)

    def progress(self, day: date) -> CloseProgressCounts:
        artists, fetched, paid, kept, holdings, holders_paid = self._one(PROGRESS, day=day)
        return CloseProgressCounts(
            int(artists), int(fetched), int(paid), int(kept), int(holdings or 0),
            int(holders_paid or 0),
        )  # fmt: skip

    def kept(self, day: date) -> list[tuple[str, str, str]]:
        with translated(), self._connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(KEPT, {"day": day})]

    def finish(self, day: date, at: datetime) -> bool:
        with translated(), self._connect(WRITING) as conn:
            with conn.begin():
                if conn.execute(FINISH, {"day": day, "at": at}).first() is not None:
                    conn.execute(BATCH_SETTINGS)
                    conn.execute(AWARD_TROPHIES, {"day": day, "at": at, **TROPHY_RULES})
                    conn.execute(FORGET_PAID, {"day": day})
                elif not conn.execute(IS_FINISHED, {"day": day}).scalar():
                    return False
            # Apart from the finish, and again on every call for a finished day: a
            # close still paying this day (run at the same time) holds the table.
            with conn.begin():
                conn.execute(LOCK_HOLDERS_TABLE)
                busy = conn.execute(UNFINISHED_HOLDERS).scalar()
                conn.execute(FORGET_FINISHED_HOLDERS if busy else FORGET_ALL_HOLDERS)
        return True
