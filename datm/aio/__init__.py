"""``datm.aio``: every service awaitable from asyncio, without blocking the loop.

Design: a bounded pool of threads in front of the sync services
--------------------------------------------------------------
datm's services are synchronous: SQLAlchemy with psycopg2, pylast over httpx2,
redis-py. ``datm.aio`` runs those same services on ``AIO_MAX_CALLS`` threads of
its own (``datm.aio.runner``), with a queue in front, rather than a second copy
of every adapter on native async drivers. A trade is a few short statements on
two locked rows: CRUD, for which SQLAlchemy's author advises threads, and one
implementation stays the one the contract suite tests. docs/ASYNC.md argues it
with bench/aio.py's figures, and says why the threads run at a lower CPU
priority than the loop (``AIO_WORKER_NICE``).

What runs where
  Everything that touches a database, a socket or a lock runs on the pool:
  every service call, every step of an iterator, the enter and exit of a context
  manager, and building the injector (``open``: engine, schema check, last.fm
  client) and closing it (``datm.close``), which run on a thread as well.
  The loop only awaits (tests/aio/test_aio_loop_never_blocks.py watches it).

Every public method, found by introspection
  ``AsyncServices`` wraps every class of ``datm.wiring.modules.SERVICES``; each
  public method (no leading underscore) of the class becomes, by its return
  annotation:

  * ``Iterator[...]`` (e.g. ``AnalyticsService.artists``): an async iterator; each
    step (``next``) runs on the pool;
  * a context manager (``AnalyticsService.hold_market_lock``,
    ``SessionChecker.player_gone``): an async context manager whose enter and
    exit run on one thread of its own (a lock may belong to the thread that
    took it), outside the bounded pool, for as long as the block lasts;
  * anything else: a coroutine function with the same arguments, result and
    errors (``await services.trading.buy(key, quote)``).

  A method added to a service later is covered without anyone listing it.
  Callbacks given to a call (``CloseService.run(progress=...)``) run on the
  call's worker thread, as with the sync service.

Cancellation
  A thread cannot be interrupted. Cancelling an awaited call that is still
  waiting for its turn (in the queue) cancels it before anything ran.
  Cancelling one already running does not stop it: the unit of work runs to its
  end and commits or rolls back as a whole, as it would without asyncio; the
  awaiting task gets ``CancelledError`` at once, and the call keeps its thread
  until it is over (cancelled calls never let more than ``AIO_MAX_CALLS`` run).
  To know whether a cancelled ``buy`` or ``sell`` happened, ask
  ``await services.trading.receipt(session_key, quote)``: its receipt if the
  trade committed, None if not (the quote was used only if the trade
  committed). Ask after the cancelled call has finished: shield the call and
  await it again (README), or ``drain()``, which waits for every call in flight.

Lifecycle
  ``async with datm.aio.open(config) as services:`` in a framework's lifespan
  builds the injector on a thread, and at the end waits for the calls in flight,
  shuts the pool down and releases everything datm opened (``datm.close``), on a
  thread too. ``datm.aio.services(injector)`` wraps an injector the program
  built itself; ``await services.aclose()`` then stops the pool (and not the
  injector, which stays the program's to close).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from injector import Injector

from datm.aio import typed
from datm.aio.runner import Runner
from datm.aio.views import AsyncService, Kind, attribute_name, kind_of, public_methods
from datm.domain.errors import DatmError, ProgrammingError
from datm.lifecycle import close
from datm.ports.clock import Clock
from datm.services.market import MarketService
from datm.settings import Settings
from datm.wiring import Wiring, create_injector
from datm.wiring.modules import SERVICES

__all__ = [
    "AsyncService",
    "AsyncServices",
    "Kind",
    "attribute_name",
    "kind_of",
    "open",
    "public_methods",
    "services",
]

T = TypeVar("T")
S = TypeVar("S")


class AsyncServices:
    """Async views of every service of ``datm.wiring.modules.SERVICES``, as
    attributes (``trading``, ``auth``, ``market``, ``artist``, ``player``,
    ``league``, ``close``, ``analytics``, ``audit``, ...) and by class
    (``get(TradingService)``)."""

    # For type checkers (datm.aio.typed): at run time __getattr__ finds the views.
    session_checker: typed.AsyncSessionChecker
    artist_resolver: typed.AsyncArtistResolver
    artist_lister: typed.AsyncArtistLister
    auth: typed.AsyncAuthService
    artist: typed.AsyncArtistService
    market: typed.AsyncMarketService
    trading: typed.AsyncTradingService
    player: typed.AsyncPlayerService
    league: typed.AsyncLeagueService
    close: typed.AsyncCloseService
    analytics: typed.AsyncAnalyticsService
    audit: typed.AsyncAuditService

    def __init__(self, injector: Injector, max_calls: int | None = None) -> None:
        self.injector = injector
        settings = injector.get(Settings)
        chosen = settings.aio_max_calls if max_calls is None else max_calls
        self._runner = Runner(chosen, settings.aio_worker_nice)
        self._views: dict[type, AsyncService[Any]] = {
            cls: AsyncService(injector, cls, self._runner) for cls in SERVICES
        }
        self._names: Mapping[str, type] = {attribute_name(cls): cls for cls in SERVICES}

    @property
    def max_calls(self) -> int:
        return self._runner.max_calls

    @property
    def running(self) -> int:
        """Calls on the pool now, cancelled ones still running included."""
        return self._runner.running

    def _all_views(self) -> list[AsyncService[Any]]:
        return list(self._views.values())

    def get(self, cls: type[S]) -> AsyncService[S]:
        try:
            return self._views[cls]
        except KeyError:
            raise ProgrammingError(f"{cls.__name__} is not a datm service") from None

    def __getattr__(self, name: str) -> AsyncService[Any]:
        names = self.__dict__.get("_names", {})
        if name not in names:
            raise AttributeError(f"datm.aio has no service {name!r}")
        return self._views[names[name]]

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._names})

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Any other sync call on the bounded pool (e.g. ``injector.get`` of a port)."""
        return await self._runner.run(function, *args, **kwargs)

    async def drain(self) -> None:
        """Wait for every call in flight, cancelled ones included, to end."""
        await self._runner.drain()

    async def aclose(self) -> None:
        """Stop the pool after the calls in flight; the injector is not closed."""
        await self._runner.aclose()


def warm_up(injector: Injector) -> None:
    """Where the wiring has a database, open the pool's first connection and check
    the schema with a one-row read, so that the first request does neither. Best
    effort: a database that cannot answer now is the first call's to report (the
    sync injector does no IO when built either, and a schema refused now is checked
    again at the next use)."""
    with contextlib.suppress(DatmError):
        injector.get(MarketService).top_by_price(1)


def services(injector: Injector, *, max_calls: int | None = None) -> AsyncServices:
    """Async views of the services of an injector the program built (and will close
    with ``datm.close``); ``max_calls`` defaults to its ``AIO_MAX_CALLS``. Call
    ``await aclose()`` on the result to stop its threads."""
    return AsyncServices(injector, max_calls)


@contextlib.asynccontextmanager
async def open(  # datm.aio.open, as issue 16 names it; shadows no use of open here
    config: object | Mapping[str, Any] | None = None,
    *,
    wiring: Wiring = "auto",
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[AsyncServices]:
    """The injector of ``create_injector(config, ...)``, built on a thread, as async
    services for an ``async with`` block (a framework's lifespan); at its end the
    calls in flight finish, and everything datm opened is released on a thread."""
    loop = asyncio.get_running_loop()

    def build() -> AsyncServices:
        # On a thread: the injector, its settings, the introspection, the pool's
        # threads, every service with what it is built of (imports, engine,
        # clients) and the warm-up, so that no first call pays for them.
        injector = create_injector(config, wiring=wiring, clock=clock, environ=environ)
        built: AsyncServices | None = None
        try:
            built = AsyncServices(injector)
            for view in built._all_views():
                view._prepare()
            warm_up(injector)
            return built
        except BaseException:
            if built is not None:
                built._runner.stop_threads()
            close(injector)
            raise

    building = loop.run_in_executor(None, build)
    try:
        opened = await asyncio.shield(building)
    except asyncio.CancelledError:  # the build goes on: what it made is released
        with contextlib.suppress(Exception):
            made = await building
            await made.aclose()
            await loop.run_in_executor(None, close, made.injector)
        raise
    injector = opened.injector
    try:
        yield opened
    finally:
        try:
            await opened.aclose()
        finally:
            await loop.run_in_executor(None, close, injector)
