"""The summaries of trades behind most traded and the counts (revisions 0009, 0011),
written set-based by the reads that need them, so that a read counts from
``trades`` only the trades of the last few minutes.

**Marks.** A trade can commit up to ``SETTLE`` after its ``at`` stamp (longer
than any trade's transaction), so the trades stamped before ``now - SETTLE``
are all in. A *mark* is a boundary of ``CHUNK`` (midnight is one) at least
``SETTLE`` before the read: a summary reaching a mark holds every trade stamped
before it, and a read adds the trades stamped at or after it, at most
``SETTLE + CHUNK`` of them plus the time since the mark was last moved, whatever
the time of day. A summary and its mark are written in one transaction and read
in one statement (one snapshot), so each trade is counted by exactly one of the
two.

- A complete day (``trade_days`` row with ``through`` NULL, ``trade_day_artists``)
  is summarised once, from ``trades``, when a read first needs it.
- The days not yet complete have *parts*: ``trade_days`` rows with ``through``,
  the number of the day's trades stamped before it. All parts share one mark,
  moved by adding the count of the span it passes (per day, so across midnight).
- A window of most traded, keyed by its first day, holds each artist's buys from
  that day's start up to its mark (``trade_windows_built.through``). It is built
  once (the complete days' summaries, then the span of its last day up to the
  mark) and then only moved forward: the buys of the span passed are added to it
  (an UPSERT), so a window read all day is never built again. A window not moved
  for ``FORGET_AFTER`` (its first day has passed: the readers moved on) is
  forgotten when another is built.

Every write takes ``SUMMARY_LOCK`` and then looks again at what it would write, in
a statement sent after the lock was granted (so it sees what the last holder
committed): two readers never add the same span twice. Moving a mark is an
optimisation, never needed for a right answer, so a read that finds the lock
held answers from the mark it has and does not wait; building (a window or a
complete day's summary) waits, as its read cannot answer without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, text

SETTLE = timedelta(minutes=5)  # longer than any trade's transaction (lock timeouts: 60 s)
CHUNK = timedelta(minutes=10)  # divides a day: midnight is a mark
ONE = timedelta(days=1)
FORGET_AFTER = ONE
ALL_TIME = date(1, 1, 1)  # the first day of the window of every trade
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SUMMARY_LOCK = text("SELECT pg_advisory_xact_lock(1684108397, 1)")  # "datm", 1: summaries
TRY_SUMMARY_LOCK = text("SELECT pg_try_advisory_xact_lock(1684108397, 1)")

# The earliest trade's day: days before it need no summary.
FIRST_TRADE_DAY = "(SELECT (min(at) AT TIME ZONE 'UTC')::date FROM trades)"

FIRST_DAY = text(f"SELECT {FIRST_TRADE_DAY}")
SUMMARISED_DAYS = text(
    "SELECT day FROM trade_days WHERE day >= :first AND day <= :last AND through IS NULL"
)
SUMMARISE_BUYS = text(
    "INSERT INTO trade_day_artists (day, mbid, buys)"
    " SELECT :day, mbid, count(*) FROM trades"
    " WHERE at >= :start AND at < :end AND side = 'buy' GROUP BY mbid"
)
# The day's part, if any, becomes the complete day.
SUMMARISE_DAY = text(
    "INSERT INTO trade_days (day, trades)"
    " SELECT :day, count(*) FROM trades WHERE at >= :start AND at < :end"
    " ON CONFLICT (day) DO UPDATE SET trades = excluded.trades, through = NULL"
)

COUNTS_MARK = text("SELECT max(through) FROM trade_days WHERE through IS NOT NULL")
# Parts of days now complete are read no more (those days are summarised whole).
FORGET_PARTS = text("DELETE FROM trade_days WHERE through IS NOT NULL AND day < :settled")
# Every part, from the day of ``old`` to the day of ``target``, moved to ``target``
# (a day without trades in the span gets its 0): the parts share one mark.
MOVE_PARTS = text(
    """
WITH counted AS (SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM trades
                 WHERE at >= :old AND at < :target GROUP BY 1)
INSERT INTO trade_days (day, trades, through)
SELECT d.day, coalesce(c.n, 0), :target
FROM (SELECT generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day')::date
      AS day) d
LEFT JOIN counted c ON c.day = d.day
ON CONFLICT (day) DO UPDATE
    SET trades = trade_days.trades + excluded.trades, through = excluded.through
    WHERE trade_days.through IS NOT NULL
"""
)

WINDOW_MARK = text("SELECT through FROM trade_windows_built WHERE first_day = :first")
# The complete days of a new window, its first day to the day before ``day``.
BUILD_WINDOW = text(
    "INSERT INTO trade_windows (first_day, mbid, buys)"
    " SELECT :first, mbid, sum(buys) FROM trade_day_artists"
    " WHERE day >= :first AND day < :day GROUP BY mbid"
)
MARK_WINDOW = text("INSERT INTO trade_windows_built (first_day, through) VALUES (:first, :target)")
MOVE_WINDOW = text(
    """
INSERT INTO trade_windows (first_day, mbid, buys)
SELECT :first, mbid, count(*) FROM trades
WHERE at >= :old AND at < :target AND side = 'buy' GROUP BY mbid
ON CONFLICT (first_day, mbid) DO UPDATE SET buys = trade_windows.buys + excluded.buys
"""
)
REMARK_WINDOW = text("UPDATE trade_windows_built SET through = :target WHERE first_day = :first")
FORGET_WINDOWS = text(
    "DELETE FROM trade_windows w USING trade_windows_built b"
    " WHERE w.first_day = b.first_day AND b.through < :stale"
)
FORGET_BUILT = text("DELETE FROM trade_windows_built WHERE through < :stale")


def start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def settled_day(now: datetime) -> date:
    """The first day not known to be complete at ``now``: every earlier day's
    trades have committed."""
    return (now.astimezone(UTC) - SETTLE).date()


def mark_at(now: datetime) -> datetime:
    """The newest mark at ``now``: the last chunk boundary ``SETTLE`` or more ago."""
    settled = now.astimezone(UTC) - SETTLE
    return settled - (settled - _EPOCH) % CHUNK


class TradeSummaries:
    """Writes the summaries; each method opens its own connection and transactions."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._pooled = connect

    def _connect(self) -> Connection:
        """A connection whose ``begin()`` opens a transaction: the pool's are in
        autocommit (engine.py), where the lock would go with its own statement."""
        conn = self._pooled()
        conn.execution_options(isolation_level="READ COMMITTED")  # reset by the pool
        return conn

    def summarise(self, first: date, last: date) -> None:
        """Summarise every complete day from ``first`` to ``last`` not summarised yet,
        a transaction per day."""
        with self._connect() as conn:
            with conn.begin():
                earliest = conn.execute(FIRST_DAY).scalar()
                if earliest is None:
                    return
                span = {"first": max(first, earliest), "last": last}
                done = set(conn.execute(SUMMARISED_DAYS, span).scalars())
            day = span["first"]
            while day <= last:
                if day not in done:
                    with conn.begin():
                        conn.execute(SUMMARY_LOCK)  # then look again: another may have
                        again = {"first": day, "last": day}
                        if not conn.execute(SUMMARISED_DAYS, again).first():
                            of_day = {"day": day, "start": start(day), "end": start(day + ONE)}
                            conn.execute(SUMMARISE_BUYS, of_day)
                            conn.execute(SUMMARISE_DAY, of_day)
                day += ONE

    def move_parts(self, target: datetime, settled: date) -> None:
        """Move the parts' mark to ``target``, unless another holds the lock."""
        with self._connect() as conn, conn.begin():
            if not conn.execute(TRY_SUMMARY_LOCK).scalar():
                return
            mark = conn.execute(COUNTS_MARK).scalar()
            old = max(mark or start(settled), start(settled))
            if old >= target:
                return
            conn.execute(FORGET_PARTS, {"settled": settled})
            days = {"first": old.astimezone(UTC).date(), "last": target.astimezone(UTC).date()}
            conn.execute(MOVE_PARTS, {"old": old, "target": target, **days})

    def build_window(self, first: date, target: datetime) -> None:
        """Build the window from ``first`` up to ``target`` if none is."""
        day = target.astimezone(UTC).date()
        self.summarise(first, day - ONE)  # complete: they end before ``target``
        with self._connect() as conn, conn.begin():
            conn.execute(SUMMARY_LOCK)
            if conn.execute(WINDOW_MARK, {"first": first}).first():
                return
            conn.execute(FORGET_WINDOWS, {"stale": target - FORGET_AFTER})
            conn.execute(FORGET_BUILT, {"stale": target - FORGET_AFTER})
            conn.execute(BUILD_WINDOW, {"first": first, "day": day})
            self._move(conn, first, start(day), target)
            conn.execute(MARK_WINDOW, {"first": first, "target": target})

    def move_window(self, first: date, target: datetime) -> None:
        """Move the window's mark to ``target``, unless another holds the lock."""
        with self._connect() as conn, conn.begin():
            if not conn.execute(TRY_SUMMARY_LOCK).scalar():
                return
            old = conn.execute(WINDOW_MARK, {"first": first}).scalar()
            if old is None or old >= target:
                return
            self._move(conn, first, old, target)
            conn.execute(REMARK_WINDOW, {"first": first, "target": target})

    @staticmethod
    def _move(conn: Connection, first: date, old: datetime, target: datetime) -> None:
        if old < target:
            conn.execute(MOVE_WINDOW, {"first": first, "old": old, "target": target})
