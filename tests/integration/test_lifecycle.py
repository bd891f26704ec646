"""``datm.close(injector)`` gives back everything datm opened, and only that.

On the real Postgres: after trades from several threads, and with a close of this
process still holding the market lock, no session of datm's is left on the game
database (``pg_stat_activity``, looked at from another database). On a last.fm
that keeps connections alive and the shared Redis: no socket of this process to
either is left open.
Afterwards nothing reconnects behind the program's back: a call that needs a
connection fails with ``ProgrammingError``.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import redis  # noqa: E402
import redis_support  # noqa: E402
import trustme  # noqa: E402
from harness import START, Game  # noqa: E402
from injector import Injector  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

import datm  # noqa: E402
from datm.adapters.clock import ManualClock  # noqa: E402
from datm.adapters.offline.lastfm import OfflineLastfm  # noqa: E402
from datm.adapters.postgres import migrate  # noqa: E402
from datm.domain.errors import ProgrammingError  # noqa: E402
from datm.ports.lastfm import LastfmPort  # noqa: E402
from datm.ports.market import MarketLock  # noqa: E402
from datm.ports.unit_of_work import UnitOfWorkFactory  # noqa: E402
from datm.services.artists import ArtistService  # noqa: E402
from datm.services.market import MarketService  # noqa: E402

THREADS = 4
JOIN_SECONDS = 60
REDIS_DB = 13  # the e2e wiring tests use 15, the cache tests 0 under prefixes of their own


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_support.fresh_database("datm_lifecycle") as url:
        migrate.upgrade(url)
        yield url


def game_on(url: str) -> tuple[Injector, Game]:
    clock = ManualClock(START)
    # No QUOTE_SECRET: the quote secret is the one stored in the database.
    injector = datm.create_injector(
        {"DATABASE_URL": url}, wiring="postgres", clock=clock, environ={}
    )
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(lastfm, OfflineLastfm)
    return injector, Game(injector, clock, lastfm)


def run_in_threads(*targets: object) -> None:
    failures: list[BaseException] = []

    def run(target: object) -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert failures == []


@pytest.mark.postgres
def test_close_leaves_no_session_of_datm_on_the_database_and_nothing_reopens(
    database: str,
) -> None:
    injector, game = game_on(database)
    players = [game.login() for _ in range(THREADS)]
    artists = [artist.mbid for artist in game.cheapest(THREADS)]
    lock = injector.get(MarketLock)  # type: ignore[type-abstract]

    def trade(index: int) -> None:
        game.buy(players[index], artists[index])
        game.sell(players[index], artists[index])

    def hold_and_release() -> None:
        with lock.hold(timeout=10):
            pass

    run_in_threads(*(lambda i=i: trade(i) for i in range(THREADS)))
    run_in_threads(hold_and_release, hold_and_release)  # the second waits for the first
    run_in_threads(lambda: lock.acquire(timeout=10))  # a close that never released it
    assert not lock.is_open()
    before = postgres_support.sessions_on(database)

    datm.close(injector)

    assert len(before) >= 2  # the pool's and the market lock's own: the test sees them
    assert postgres_support.sessions_left_on(database) == []
    with pytest.raises(ProgrammingError, match="datm was closed"):
        game.market.top_by_price(5)  # would need a new connection: refused
    datm.close(injector)  # idempotent
    assert postgres_support.sessions_left_on(database) == []


@pytest.mark.postgres
def test_a_connection_given_back_after_close_is_closed_not_pooled(database: str) -> None:
    injector, game = game_on(database)
    who = game.login()

    with injector.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        assert uow.players.find(who.player) is not None  # holds a connection
        datm.close(injector)  # a request still in flight at shutdown
        assert len(postgres_support.sessions_on(database)) == 1

    assert postgres_support.sessions_on(database) == []


@pytest.mark.postgres
def test_open_injector_closes_at_the_end_of_its_block(database: str) -> None:
    with datm.open_injector({"DATABASE_URL": database}, wiring="postgres", environ={}) as injector:
        assert injector.get(MarketService).top_by_price(5) == []
        assert postgres_support.sessions_on(database) != []

    assert postgres_support.sessions_on(database) == []


def test_close_builds_nothing_it_did_not_open() -> None:
    # Nothing answers on port 1: building the engine would not connect, but using it
    # would fail. close must not build it, and afterwards it cannot be built at all.
    injector = datm.create_injector(
        {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, wiring="postgres", environ={}
    )

    datm.close(injector)

    with pytest.raises(ProgrammingError, match="datm was closed"):
        injector.get(Engine)


# --- last.fm and Redis ------------------------------------------------------------------


def sockets_to(port: int) -> int:
    """How many TCP sockets this process has open to ``port`` on the far side
    (Linux: the inodes of /proc/self/fd against /proc/net/tcp and tcp6)."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since listed
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table, encoding="ascii") as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[9] in mine:
                    count += 1
    return count


@pytest.fixture
def redis_server() -> Iterator[tuple[str, int]]:
    """The shared test Redis, as (URL, port), on a database no other test uses: the
    wiring writes under datm's own key prefix, emptied afterwards."""
    shared = os.environ.get("DATM_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    kwargs = redis.ConnectionPool.from_url(shared).connection_kwargs  # the URL's db wins
    client = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=REDIS_DB, socket_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        client.close()
        redis_support.unavailable(f"Redis at {shared} is not reachable ({error!r})")
    forget(client)  # an answer cached by an earlier run would spare the HTTP call
    client.connection_pool.disconnect()  # the test counts this process's sockets
    try:
        yield f"redis://{kwargs['host']}:{kwargs['port']}/{REDIS_DB}", int(kwargs["port"])
    finally:
        forget(client)
        client.close()


def forget(client: redis.Redis) -> None:
    stale = list(client.scan_iter("datm:*"))
    if stale:
        client.delete(*stale)


class KeepAliveLastfm:
    """A last.fm on loopback that, unlike the fake, keeps connections open between
    requests, as last.fm does: the HTTP pool then has something to close. It answers
    every call with a one-artist chart."""

    CHART = (
        b'<?xml version="1.0" encoding="utf-8"?><lfm status="ok"><artists page="1">'
        b"<artist><name>Kept Alive</name><playcount>1</playcount><listeners>1</listeners>"
        b"<mbid></mbid></artist></artists></lfm>"
    )

    def __init__(self, scratch: Path) -> None:
        ca = trustme.CA()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(tls)
        self.ca_file = scratch / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(outer.CHART)))
                self.end_headers()
                self.wfile.write(outer.CHART)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}/2.0/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(JOIN_SECONDS)


@pytest.fixture
def keep_alive_lastfm(tmp_path: Path) -> Iterator[KeepAliveLastfm]:
    server = KeepAliveLastfm(tmp_path)
    yield server
    server.stop()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets through /proc")
def test_close_closes_the_last_fm_connections_and_the_redis_pool(
    redis_server: tuple[str, int], keep_alive_lastfm: KeepAliveLastfm
) -> None:
    url, redis_port = redis_server
    lastfm = keep_alive_lastfm
    # Earlier tests of this process may keep sockets to the shared Redis: count ours.
    others = sockets_to(redis_port)
    injector = datm.create_injector(
        {
            "LASTFM_API_KEY": "lifecycle-key",
            "LASTFM_API_SECRET": "lifecycle-secret",
            "LASTFM_URL": lastfm.url,
            "LASTFM_CA_FILE": str(lastfm.ca_file),
            "REDIS_URL": url,
            "QUOTE_SECRET": "lifecycle-quote-secret-0123456789",
        },
        wiring="memory",
        environ={},
    )
    artists = injector.get(ArtistService)
    # Through Redis (the shared cache, the shared rate limit) and one HTTP connection.
    assert [artist.name for artist in artists.chart(limit=1)] == ["Kept Alive"]
    assert artists.chart(limit=2)[0].name == "Kept Alive"  # same connection, kept
    assert sockets_to(lastfm.port) == 1 and sockets_to(redis_port) >= others + 1

    datm.close(injector)

    assert sockets_to(lastfm.port) == 0
    assert sockets_to(redis_port) == others
    with pytest.raises(ProgrammingError, match="closed"):
        artists.chart(limit=3)  # not cached: would need last.fm again
    assert lastfm.requests == 2
    assert sockets_to(lastfm.port) == 0 and sockets_to(redis_port) == others
