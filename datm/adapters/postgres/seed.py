"""A generated game in a migrated, empty game database: ``datm dev seed``.

Everything is set-based SQL run in one transaction: a handful of
``CREATE TEMP TABLE ... AS SELECT`` plan the game from ``generate_series`` and
hashes, then one ``INSERT ... SELECT`` per game table writes it, in the order of
its primary key. No Python loop per row: at full size (1.2 M players, 100 k
artists, 1 M holdings) a round trip per row alone would cost minutes.

Speed. While the tables fill, their foreign keys and secondary indexes are
dropped and afterwards put back from the catalog's own definitions
(``pg_get_constraintdef``, ``pg_get_indexdef``): an index built once is much
cheaper than millions of random inserts into it, and a foreign key checked by one
join is cheaper than a trigger per row. It all happens in the same transaction,
so a seed that fails or is interrupted leaves the schema, and the game, as they
were. Primary keys stay: the rows arrive in their order.

Then, committed, the tables are vacuumed and analyzed.

The game itself (its SQL, why it is the same game for the same options, and why
it is consistent by construction) is in ``seed_sql``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, pool, text

from datm.adapters.postgres import connect_errors
from datm.adapters.postgres.connect_errors import Target
from datm.adapters.postgres.engine import normalise_url, parse_url
from datm.adapters.postgres.errors import translated
from datm.adapters.postgres.schema_check import refusal
from datm.adapters.postgres.seed_sql import (
    HOLDINGS_BUDGET,
    INSERT_ARTISTS,
    INSERT_CLOSES,
    INSERT_HISTORY,
    INSERT_HOLDINGS,
    INSERT_LEDGER,
    INSERT_PLAYERS,
    INSERT_TRADES,
    INSERT_TROPHIES,
    MAX_HOLDINGS_PER_PLAYER,
    ROUND_TRIP_RESERVE,
    SEED_ARTIST,
    SEED_BUY,
    SEED_DAY,
    SEED_HOLDING,
    SEED_MARKET,
    SEED_ROUND_TRIP,
    SET_SEQUENCES,
)
from datm.domain.errors import DataError, InvalidInput

log = logging.getLogger(__name__)

# The parts of a seed, in the order they run; ``on_part`` is told each as it starts.
PARTS = (
    "prepare",
    "artists",
    "holdings",
    "market",
    "round trips",
    "trades",
    "ledger",
    "players",
    "trophies",
    "indexes",
    "constraints",
    "commit",
    "vacuum",
)
# Never emptied by --replace nor refused for rows: the game's configuration.
KEPT_TABLES = ("alembic_version", "leagues", "server_secrets")
# The tables a seed fills (``closes`` is small: its indexes and keys stay).
BULK_TABLES = ("players", "artists", "holdings", "history", "trades", "ledger", "trophies")

OVERSAMPLING = (1.3, 2.0, 3.0)  # candidate holdings per holding asked, per attempt
LOCK_TIMEOUT = "30s"  # a game in use: fail rather than wait forever for its tables


# --- the schema's keys and indexes, set aside while the tables fill -----------------

GAME_TABLES = text(
    """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    AND c.relname::text <> ALL(CAST(:kept AS text[]))
ORDER BY c.relname
"""
)
FOREIGN_KEYS = text(
    """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
    format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
        pg_get_constraintdef(c.oid))
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = ANY(CAST(:tables AS regclass[]))
ORDER BY c.conrelid::regclass::text, c.conname
"""
)
# Indexes of no primary key, unique or exclusion constraint (those stay).
SECONDARY_INDEXES = text(
    """
SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c
        WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY i.indexrelid::regclass::text
"""
)


# --- the API --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedOptions:
    """What to generate. ``today`` (UTC) defaults to the day of the call: the closes
    are the ``days`` days before it."""

    players: int = 1_000
    artists: int = 200
    holdings: int = 1_500
    days: int = 4
    seed: int = 1
    round_trips: float = 0.8  # extra buy-and-sell pairs per holding
    today: date | None = None

    def check(self) -> None:
        for name, value, low, high in (
            ("players", self.players, 1, 10_000_000),
            ("artists", self.artists, 1, 10_000_000),
            ("holdings", self.holdings, 0, 100_000_000),
            ("days", self.days, 0, 365),
            ("seed", self.seed, 0, 2**31 - 1),
        ):
            if not low <= value <= high:
                raise InvalidInput(name, f"must be {low} to {high:,}, not {value}")
        if not 0 <= self.round_trips <= 10:
            raise InvalidInput("round trips", f"must be 0 to 10, not {self.round_trips}")
        fits = self.players * min(MAX_HOLDINGS_PER_PLAYER, self.artists) // 2
        if self.holdings > fits:
            raise InvalidInput(
                "holdings",
                f"{self.players:,} players and {self.artists:,} artists make room for about "
                f"{fits:,} holdings, not {self.holdings:,}",
            )


@dataclass(frozen=True)
class Part:
    name: str
    seconds: float


@dataclass(frozen=True)
class SeedReport:
    database: str
    first_day: date  # the listing day; the closes follow it
    last_close: date | None  # the latest close; None with no days of history
    counts: dict[str, int]  # rows written, per table
    parts: tuple[Part, ...]

    @property
    def seconds(self) -> float:
        return sum(part.seconds for part in self.parts)


class GameNotEmpty(DataError):
    """The database already holds a game (or traces of one)."""

    code = "game_not_empty"

    def __init__(self, database: str, tables: Sequence[str]) -> None:
        super().__init__(
            f"the game database {database} is not empty ({', '.join(tables)} hold rows)",
            database=database,
            tables=tuple(tables),
        )


PartListener = Callable[[int, str], None]  # (index in PARTS, name) as each part starts


@dataclass
class _Run:
    connection: Connection
    params: dict[str, Any]
    on_part: PartListener | None
    counts: dict[str, int] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # the game's, all but KEPT_TABLES

    current: tuple[str, float] | None = None  # the part running, since when

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        self.start(name)
        yield
        self.finish()

    def start(self, name: str) -> None:
        if self.on_part is not None:
            self.on_part(PARTS.index(name), name)
        self.current = (name, time.monotonic())

    def finish(self) -> None:
        assert self.current is not None
        name, started = self.current
        self.parts.append(Part(name, time.monotonic() - started))
        self.current = None
        log.info("seed: %s in %.1f s", name, self.parts[-1].seconds)

    def run(self, statement: Any, table: str | None = None, **extra: Any) -> int:
        rows: int = self.connection.execute(statement, {**self.params, **extra}).rowcount
        if table is not None:
            self.counts[table] = rows
        return rows


def seed(
    url: str,
    options: SeedOptions,
    *,
    replace: bool = False,
    on_part: PartListener | None = None,
) -> SeedReport:
    """Fill the game database at ``url`` (migrated to the head revision) with a
    generated game. Refuses a database holding any game row (``GameNotEmpty``)
    unless ``replace``, which empties every table but the kept ones first. All or
    nothing: one transaction, then a VACUUM (ANALYZE) of the tables it filled."""
    options.check()
    today = options.today or datetime.now(UTC).date()
    first_day = today - timedelta(days=options.days + 1)
    database = Target.of_url(parse_url(url)).database_at
    params: dict[str, Any] = {
        "seed": options.seed,
        "players": options.players,
        "artists": options.artists,
        "holdings": options.holdings,
        "days": options.days,
        "round_trips": options.round_trips,
        "first_day": first_day,
        "last_day": first_day + timedelta(days=max(options.days, 0)),
        "width": max(7, len(str(options.players))),
        "perm": _coprime(options.players),
        "cap": min(MAX_HOLDINGS_PER_PLAYER, options.artists),
        "budget": HOLDINGS_BUDGET,
        "reserve": ROUND_TRIP_RESERVE,
    }
    engine = create_engine(
        normalise_url(url),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": 10, "application_name": "datm seed"},
    )
    connect_errors.install(engine)
    try:
        with translated(), engine.connect() as connection:
            run = _Run(connection, params, on_part)
            with connection.begin():
                _refuse(run, database, replace)  # before the first part: nothing to show
                with run.part("prepare"):
                    restore = _prepare(run, replace)
                _plan_and_write(run, options)
                with run.part("indexes"):
                    for statement in restore.indexes:
                        connection.exec_driver_sql(statement)
                with run.part("constraints"):
                    for statement in restore.keys:
                        connection.exec_driver_sql(statement)
                    for sequence in SET_SEQUENCES:
                        run.run(sequence)
                run.start("commit")  # ends with the transaction's block
            run.finish()
            # Statistics for the planner, and the visibility map and hint bits set
            # now rather than by the first readers (whose reads would write every
            # page): autovacuum may be off, and a benchmark should not pay for them.
            with run.part("vacuum"):
                connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in (*BULK_TABLES, "closes"):
                    connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    finally:
        engine.dispose()
    last_close = first_day + timedelta(days=options.days) if options.days else None
    return SeedReport(database, first_day, last_close, run.counts, tuple(run.parts))


@dataclass(frozen=True)
class _Restore:
    indexes: tuple[str, ...]
    keys: tuple[str, ...]


def _refuse(run: _Run, database: str, replace: bool) -> None:
    """Refuse a database not at the head revision (the statements are written for
    its schema), or holding a game, unless it is to be replaced."""
    connection = run.connection
    problem = refusal(MigrationContext.configure(connection).get_current_heads(), database)
    if problem is not None:
        raise problem
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    run.tables = list(connection.execute(GAME_TABLES, {"kept": list(KEPT_TABLES)}).scalars())
    if not replace:
        quote = connection.dialect.identifier_preparer.quote
        full = [
            table
            for table in run.tables
            if connection.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})").scalar()
        ]
        if full:
            raise GameNotEmpty(database, full)


def _prepare(run: _Run, replace: bool) -> _Restore:
    connection = run.connection
    for setting in (
        "work_mem = '1GB'",  # sorts and hashes of millions of rows, one session
        "maintenance_work_mem = '1GB'",
        "temp_buffers = '1GB'",  # before the first temporary table of the session
        "synchronous_commit = off",
        "TIME ZONE 'UTC'",
    ):
        connection.exec_driver_sql(f"SET LOCAL {setting}")
    if replace and run.tables:
        quote = connection.dialect.identifier_preparer.quote
        connection.exec_driver_sql(
            f"TRUNCATE {', '.join(quote(t) for t in run.tables)} RESTART IDENTITY"
        )
    bulk = {"tables": list(BULK_TABLES)}
    keys = connection.execute(FOREIGN_KEYS, bulk).all()
    indexes = connection.execute(SECONDARY_INDEXES, bulk).all()
    for drop, _ in (*keys, *indexes):
        connection.exec_driver_sql(drop)
    return _Restore(tuple(row[1] for row in indexes), tuple(row[1] for row in keys))


def _plan_and_write(run: _Run, options: SeedOptions) -> None:
    with run.part("artists"):
        run.run(SEED_DAY)
        run.run(SEED_ARTIST)
    with run.part("holdings"):
        _pick_holdings(run, options)
        run.run(SEED_MARKET)
        run.run(SEED_BUY)
        run.run(INSERT_HOLDINGS, "holdings")
    with run.part("market"):
        run.run(INSERT_ARTISTS, "artists")
        run.run(INSERT_HISTORY, "history")
    with run.part("round trips"):
        run.run(SEED_ROUND_TRIP)
    with run.part("trades"):
        run.run(INSERT_TRADES, "trades")
    with run.part("ledger"):
        run.run(INSERT_LEDGER, "ledger")
    with run.part("players"):
        run.run(INSERT_PLAYERS, "players")
    with run.part("trophies"):
        run.run(INSERT_TROPHIES, "trophies")
        run.run(INSERT_CLOSES, "closes")


def _pick_holdings(run: _Run, options: SeedOptions) -> None:
    """Candidates are drawn with some to spare (players pick an artist twice, or
    cannot afford it); rarely too few are left, and then more are drawn."""
    picked = 0
    cap = run.params["cap"]
    for factor in OVERSAMPLING:
        wanted = min(factor * options.holdings / options.players, 0.95 * cap)
        run.connection.exec_driver_sql("DROP TABLE IF EXISTS seed_holding")
        picked = run.run(SEED_HOLDING, activity=_activity(wanted, cap))
        if picked == options.holdings:
            return
        log.info("seed: %d of %d holdings fit; drawing more", picked, options.holdings)
    raise InvalidInput(
        "holdings",
        f"only {picked:,} of {options.holdings:,} fit {options.players:,} players' budgets "
        f"and {options.artists:,} artists: ask for fewer, or more players or artists",
    )


def _activity(mean: float, cap: int) -> float:
    """The scale c of the artists a player wants, min(cap, floor(c * (u^-1/2 - 1))) for
    u uniform, whose mean is ``mean``: P(wanted >= j) = (1 + j/c)^-2."""

    def expected(scale: float) -> float:
        return sum((1 + j / scale) ** -2 for j in range(1, cap + 1))

    low, high = 1e-9, 1e9
    for _ in range(200):  # bisection on a log scale: expected() grows with the scale
        middle = math.sqrt(low * high)
        low, high = (middle, high) if expected(middle) < mean else (low, middle)
    return high


def _coprime(players: int) -> int:
    """A multiplier coprime with ``players``: p -> (p - 1) * m % N + 1 permutes 1..N."""
    candidate = max(1, int(players * 0.6180339887))
    while math.gcd(candidate, players) != 1:
        candidate += 1
    return candidate
