"""No datm call runs anything that can block on the event loop's thread, the first
call included: building the injector, the pool's first connections and the schema
check, the first last.fm request with its TLS handshake, Redis, the market lock's
connection, a trade, the reads, an iterator, a context manager and the release.

Shown without a clock: a profiler on the loop's thread (``sys.setprofile`` watches
the thread that sets it, and no other) records every function of a database,
network or injection library, and of datm's adapters and services, that runs
there, and every socket, TLS, driver or sleep call the loop itself did not make.
It must record none. The loop's lateness is measured by bench/aio.py.
"""

from __future__ import annotations

import asyncio
import selectors
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import dogpile
import injector
import limits
import psycopg2
import pylast
import pytest
import redis
import redis_support
import sqlalchemy

import datm
import datm.aio
from datm.domain.errors import NotEnoughMoney, NotHeld
from datm.fake_lastfm import FakeLastfm
from datm.services.market import MarketService

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "lastfm-recordings"
REDIS_URL = "redis://127.0.0.1:6379/11"  # this test's own database, emptied first
DATM = Path(datm.__file__).parent
LIBRARIES = [
    Path(module.__file__ or "").parent
    for module in (sqlalchemy, psycopg2, pylast, redis, injector, dogpile, limits)
]
STDLIB_IO = {"socket.py", "ssl.py"}
# The loop's own waiting (the selector) and self-pipe: its calls there are allowed.
LOOP_FILES = (str(Path(asyncio.__file__).parent), str(Path(selectors.__file__)))
IO_MODULES = ("_socket", "socket", "_ssl", "ssl", "psycopg2", "select", "_queue.SimpleQueue.get")


def blocking_library(path: str) -> bool:
    """A file whose functions may touch the network, the database or a lock."""
    file = Path(path)
    if any(file.is_relative_to(root) for root in LIBRARIES):
        return True
    if any(part.startswith(("httpx", "httpcore", "h11", "truststore")) for part in file.parts):
        return True
    if file.name in STDLIB_IO and "site-packages" not in file.parts:
        return True
    if file.is_relative_to(DATM):
        inside = file.relative_to(DATM).parts
        # datm.aio is the loop's side; domain values and the frozen results are data.
        return inside[0] not in {"aio", "domain"} and file.name != "results.py"
    return False


class LoopWatch:
    """What ran on the loop's thread that could block it (``install`` there)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def install(self) -> None:
        sys.setprofile(self._event)

    def remove(self) -> None:
        sys.setprofile(None)

    def _event(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and blocking_library(frame.f_code.co_filename):
            self._note(f"{frame.f_code.co_filename}:{frame.f_code.co_qualname}")
        elif event == "c_call" and not frame.f_code.co_filename.startswith(LOOP_FILES):
            name = c_function_name(arg)
            if name.startswith(IO_MODULES) or name == "time.sleep":
                self._note(f"{name} from {frame.f_code.co_filename}:{frame.f_lineno}")

    def _note(self, what: str) -> None:
        self.seen[what] = self.seen.get(what, 0) + 1


def c_function_name(function: Any) -> str:
    owner = getattr(function, "__self__", None)
    module = getattr(function, "__module__", None)
    if module is None and owner is not None and not isinstance(owner, type(sys)):
        module = f"{type(owner).__module__}.{type(owner).__qualname__}"
    elif module is None and owner is not None:
        module = owner.__name__
    return f"{module}.{getattr(function, '__name__', '?')}"


@pytest.fixture
def empty_redis() -> str:
    """The test's Redis database, emptied: last.fm's answers are not cached yet."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.flushdb()
    except redis.ConnectionError:
        redis_support.unavailable(f"Redis is not running at {REDIS_URL}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm(RECORDINGS) as server:
        yield server


def test_the_watch_sees_a_blocking_call_made_on_the_loop(database: str) -> None:
    # The check can fail: the same watch over sync calls on its own thread records them.
    import datm.wiring

    watch = LoopWatch()
    built = datm.wiring.create_injector({"DATABASE_URL": database}, wiring="postgres", environ={})
    watch.install()
    try:
        built.get(MarketService).top_by_price(3)
    finally:
        watch.remove()
        datm.close(built)
    assert any("/sqlalchemy/" in what for what in watch.seen)
    assert any(what.startswith("psycopg2.") for what in watch.seen)


async def test_nothing_that_can_block_runs_on_the_loop_from_open_to_close(
    database: str, empty_redis: str, fake: FakeLastfm
) -> None:
    config = {
        "DATABASE_URL": database,
        "REDIS_URL": empty_redis,
        "QUOTE_SECRET": "aio-watch-quote-secret-0123456789",
        "LASTFM_API_KEY": fake.api_key,
        "LASTFM_API_SECRET": fake.api_secret,
        "LASTFM_URL": fake.url,
        "LASTFM_CA_FILE": str(fake.ca_file),
        "LASTFM_RETRIES": 1,
    }
    watch = LoopWatch()
    watch.install()
    try:
        async with datm.aio.open(config, wiring="postgres", environ={}) as services:
            link = await services.auth.login_link()  # the first TLS handshake with last.fm
            assert link.token is not None  # the user allows it (the test's, on a thread)
            await asyncio.to_thread(fake.authorise, link.token, "RJ")
            login = await services.auth.login(link.token)
            quote = await services.trading.quote(login.session_key, "Radiohead", "buy")
            refused = await asyncio.gather(
                services.trading.buy(login.session_key, quote.token), return_exceptions=True
            )
            market = await services.market.market_data(quote.mbid)
            top = await services.league.top("bronze", 10)
            profile = await services.player.profile("RJ", with_images=False)
            listed = [batch async for batch in services.analytics.artists(batch_size=10)]
            async with services.analytics.hold_market_lock(timeout=5):
                closed = not await services.analytics.is_market_open()
            sell = await asyncio.gather(
                services.trading.quote(login.session_key, quote.mbid, "sell"),
                return_exceptions=True,
            )
    finally:
        watch.remove()

    assert isinstance(refused[0], NotEnoughMoney) and isinstance(sell[0], NotHeld)
    assert login.is_new and market.mbid == quote.mbid and closed
    assert [entry.name for entry in top] == ["RJ"] and profile.holdings == ()
    assert [artist.mbid for batch in listed for artist in batch] == [quote.mbid]
    assert fake.requests.of("auth.getSession") == 1 and fake.requests.of("artist.getInfo") >= 1
    assert watch.seen == {}, "\n".join(f"{n} x {what}" for what, n in list(watch.seen.items())[:30])
