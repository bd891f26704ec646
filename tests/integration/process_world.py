"""The game database each test of ``test_postgres_processes.py`` gets, and what
must hold in it whatever happened.

``open_world`` makes a database of its own, migrated with alembic, logs players
in through the offline last.fm (their session keys work in every process:
sessions live in the database) and lists the cheapest artists of the offline
chart. SQL changes the database only there, while setting up (cheaper artists
with more shares, so that 20 players contend for them); the checks read.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import postgres_support
import process_workers as workers
import pytest
from injector import Injector
from sqlalchemy import Engine, Row, create_engine, pool, text
from sqlalchemy.engine import make_url

from datm.adapters.offline.lastfm import OfflineLastfm
from datm.adapters.postgres import migrate
from datm.ports.lastfm import LastfmPort
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.market import MarketService

STARTING_MONEY = 20_000
ARTISTS = ((3_000, 6), (4_000, 8), (5_000, 10))  # (price, max shares) set for the test
WAIT = 90.0  # the bound of every wait for a process, a queue or a condition
T = TypeVar("T")


@dataclass
class World:
    """One test's game database, the test process's injector on it, who plays what."""

    url: str
    injector: Injector
    admin: Engine  # for set-up and checks, outside datm
    sessions: tuple[tuple[str, str], ...] = ()  # (player, session key)
    mbids: tuple[str, ...] = ()

    def get(self, cls: type[T]) -> T:
        return self.injector.get(cls)

    def sql(self, statement: str, **params: Any) -> list[Row[Any]]:
        with self.admin.connect() as connection:
            return list(connection.execute(text(statement), params))

    def setup(self, statement: str, **params: Any) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement), params)

    def count(self, statement: str, **params: Any) -> int:
        return int(self.sql(statement, **params)[0][0])


@contextmanager
def open_world(players: int, artists: int) -> Iterator[World]:
    with postgres_support.fresh_database("datm_processes") as url:
        migrate.upgrade(url)
        # Quotes of the test process stay valid long enough for a slow spawn.
        injector = workers.build_injector(url, quote_validity_seconds=300)
        admin = create_engine(
            migrate.normalise_url(url), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            world = World(url, injector, admin)
            world.sessions = log_in(injector, players)
            world.mbids = cheapest_artists(world, artists)
            yield world
        finally:
            injector.get(Engine).dispose()
            admin.dispose()


def log_in(injector: Injector, count: int) -> tuple[tuple[str, str], ...]:
    auth = injector.get(AuthService)
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(lastfm, OfflineLastfm)
    sessions = []
    for number in range(count):
        name = f"p{number:02d}-{uuid.uuid4().hex[:8]}"
        link = auth.login_link()
        assert link.token is not None
        lastfm.authorise(link.token, name)
        sessions.append((name, auth.login(link.token).session_key))
    return tuple(sessions)


def cheapest_artists(world: World, count: int) -> tuple[str, ...]:
    """List the offline chart (MarketService lists on demand), take the cheapest
    ``count`` and make them affordable, with several shares each."""
    lastfm = world.get(LastfmPort)  # type: ignore[type-abstract]
    market = world.get(MarketService)
    listed = [market.market_data(a.mbid) for a in lastfm.chart_top_artists(50, 1) if a.mbid]
    chosen = sorted(listed, key=lambda m: (m.price, m.mbid))[:count]
    for data, (price, shares) in zip(chosen, ARTISTS, strict=False):
        world.setup(
            "UPDATE artists SET price = :price, last_close_price = :price, max_shares = :shares"
            " WHERE mbid = :mbid",
            price=price,
            shares=shares,
            mbid=data.mbid,
        )
    return tuple(m.mbid for m in chosen)


# --- what must hold whatever happened -------------------------------------------

VIOLATIONS = {
    "money is not 20,000 plus the ledger": f"""
        SELECT p.name, p.money, {STARTING_MONEY} + COALESCE(SUM(l.amount), 0)
        FROM players p LEFT JOIN ledger l ON l.player = p.name GROUP BY p.name
        HAVING p.money <> {STARTING_MONEY} + COALESCE(SUM(l.amount), 0) OR p.money < 0""",
    "holders miscounted or over max shares": """
        SELECT a.mbid, a.holders, a.max_shares, COUNT(h.player)
        FROM artists a LEFT JOIN holdings h ON h.mbid = a.mbid GROUP BY a.mbid
        HAVING a.holders <> COUNT(h.player) OR COUNT(h.player) > a.max_shares""",
    "an artist held twice": """
        SELECT player, mbid FROM holdings GROUP BY player, mbid HAVING COUNT(*) > 1""",
    "trades and buy/sell ledger entries differ": """
        WITH t AS (SELECT player, side AS kind, COUNT(*) AS n,
                          SUM(CASE side WHEN 'buy' THEN -price ELSE price END) AS total
                   FROM trades GROUP BY player, side),
             l AS (SELECT player, kind, COUNT(*) AS n, SUM(amount) AS total
                   FROM ledger WHERE kind IN ('buy', 'sell') GROUP BY player, kind)
        SELECT * FROM t FULL JOIN l USING (player, kind)
        WHERE t.n IS DISTINCT FROM l.n OR t.total IS DISTINCT FROM l.total""",
    "buys minus sells is not the holding": """
        WITH net AS (SELECT player, mbid, SUM(CASE side WHEN 'buy' THEN 1 ELSE -1 END) AS n
                     FROM trades GROUP BY player, mbid)
        SELECT * FROM net FULL JOIN holdings h USING (player, mbid)
        WHERE COALESCE(net.n, 0) <> CASE WHEN h.since IS NULL THEN 0 ELSE 1 END""",
    "trades_made is not the trade count": """
        SELECT p.name FROM players p LEFT JOIN trades t ON t.player = p.name
        GROUP BY p.name HAVING p.trades_made <> COUNT(t.id)""",
    "a quote traded twice": """
        SELECT quote_id FROM trades WHERE quote_id <> '' GROUP BY quote_id
        HAVING COUNT(*) > 1""",
}


def assert_invariants(world: World) -> None:
    """datm's own audit, then the same and more in hand-written SQL."""
    report = world.get(AuditService).audit()
    assert report.ok, report
    assert report.players == len(world.sessions)
    for violation, query in VIOLATIONS.items():
        assert world.sql(query) == [], violation


def other_backends(world: World, where: str) -> int:
    """Connections to the world's database, other than the asking one, matching ``where``."""
    return world.count(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
        f" AND pid <> pg_backend_pid() AND {where}"
    )


def advisory_locks(world: World) -> int:
    return world.count(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())"
    )


# --- waiting, processes, the server ---------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def stop_process(process: Any, grace: float = 0) -> None:
    """Make sure a child is gone: after ``grace`` seconds to end by itself, SIGKILL."""
    process.join(grace)
    if process.is_alive():
        process.kill()
        process.join(WAIT)


def cluster(action: str) -> subprocess.CompletedProcess[str]:
    """``pg_ctlcluster`` on this machine's cluster (start, restart)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT, check=False)


def server_ready() -> bool:
    url = make_url(postgres_support.test_database_url())
    command = ["pg_isready", "-q", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    return subprocess.run(command, timeout=WAIT, check=False).returncode == 0
