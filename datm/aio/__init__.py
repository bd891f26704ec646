"""``datm.aio``: every service awaitable from asyncio, without blocking the loop.

Design: a bounded executor in front of the sync services
-------------------------------------------------------
datm's services are synchronous: SQLAlchemy with psycopg2, pylast over httpx2,
redis-py. An async datm could either (a) run those same services on threads of
its own, or (b) rewrite every adapter on native async drivers (asyncpg or
psycopg 3 async, an async last.fm client, redis.asyncio). (b) doubles the code
that matters most (two copies of every adapter, of every hand-written SQL path,
of the transaction and retry logic, of the contract tests) for a workload that
is CRUD: a trade is a few short statements on two locked rows. For such code
SQLAlchemy's own author advises threads; the database, not Python, is the limit,
and a thread per call in flight costs far less than a second implementation
drifting from the first. So ``datm.aio`` is (a): one ``ThreadPoolExecutor`` of
``AIO_MAX_CALLS`` threads, and an ``asyncio.Semaphore`` of the same size in
front of it, so that a burst of calls waits in the event loop (cheap, fair,
cancellable) rather than as work queued for threads. The figures (trades per
second against the sync services, the loop's lateness) are issue 16's
``bench/aio.py``.

What runs where
  Everything that touches a database, a socket or a lock runs on the pool:
  every service call, every step of an iterator, the enter and exit of a context
  manager, and building the injector (``open``: engine, schema check, last.fm
  client) and closing it (``datm.close``), which run on a thread as well.
  The loop only awaits.

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
  waiting for its turn (the semaphore) cancels it before anything ran.
  Cancelling one already running does not stop it: the unit of work runs to its
  end and commits or rolls back as a whole, as it would without asyncio; the
  awaiting task gets ``CancelledError`` at once, and the thread keeps its slot
  of the semaphore until the call is over (cancelled calls never let more than
  ``AIO_MAX_CALLS`` run). To know whether a cancelled ``buy`` or ``sell``
  happened, ask ``await services.trading.receipt(session_key, quote)``: its
  receipt if the trade committed, None if not (the quote was used only if the
  trade committed). Ask after the cancelled call has finished: ``drain()`` waits
  for every call in flight.

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
import concurrent.futures
import contextlib
import functools
import inspect
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Generic, Literal, TypeVar

from injector import Injector

from datm.domain.errors import ProgrammingError
from datm.lifecycle import close
from datm.ports.clock import Clock
from datm.settings import Settings
from datm.wiring import Wiring, create_injector
from datm.wiring.modules import SERVICES

__all__ = ["AsyncService", "AsyncServices", "Kind", "kind_of", "open", "services"]

T = TypeVar("T")
S = TypeVar("S")
Kind = Literal["call", "iterator", "context"]
_STOPPED = object()
_ITERATOR = re.compile(r"^(typing\.|collections\.abc\.)?(Iterator|Generator|Iterable)\[")
_CONTEXT = re.compile(r"ContextManager\[")


def kind_of(method: Callable[..., Any]) -> Kind:
    """How ``datm.aio`` offers a service method: by its return annotation, read as
    text (the services' annotations are strings: ``from __future__``)."""
    wrapped = getattr(method, "__wrapped__", None)
    if wrapped is not None and inspect.isgeneratorfunction(wrapped):
        return "context"  # @contextlib.contextmanager
    if inspect.isgeneratorfunction(method):
        return "iterator"
    annotation = inspect.signature(method).return_annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if _CONTEXT.search(str(text)) or str(text).endswith("ContextManager"):
        return "context"
    if _ITERATOR.match(str(text)):
        return "iterator"
    return "call"


def public_methods(cls: type) -> dict[str, Kind]:
    """Every public method of a service class, with how it is offered."""
    return {
        name: kind_of(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def attribute_name(cls: type) -> str:
    """``TradingService`` -> ``trading``, ``SessionChecker`` -> ``session_checker``."""
    base = cls.__name__.removesuffix("Service")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


class _Runner:
    """The bounded pool: ``max_calls`` threads and a semaphore of the same size."""

    def __init__(self, max_calls: int) -> None:
        if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
            raise ProgrammingError(f"max_calls must be a whole number >= 1, not {max_calls!r}")
        self.max_calls = max_calls
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_calls, thread_name_prefix="datm-aio"
        )
        self._semaphore: asyncio.Semaphore | None = None
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self._closed = False

    def _slots(self) -> asyncio.Semaphore:
        if self._semaphore is None:  # made in the loop that first uses it
            self._semaphore = asyncio.Semaphore(self.max_calls)
        return self._semaphore

    @property
    def running(self) -> int:
        """Calls running on the pool now (cancelled ones included until they end)."""
        return len(self._in_flight)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        self._check_open()
        slots = self._slots()
        await slots.acquire()  # cancelled here: nothing ran
        loop = asyncio.get_running_loop()
        try:
            self._check_open()  # closed while this call waited for its turn
            submitted = self._executor.submit(functools.partial(function, *args, **kwargs))
        except BaseException:
            slots.release()
            raise
        self._in_flight.add(submitted)

        def finished(future: concurrent.futures.Future[Any]) -> None:
            # On the worker thread: the slot is given back in the loop, and only when
            # the sync call is over, cancelled await or not.
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(self._release, future)

        submitted.add_done_callback(finished)
        # wrap_future: cancelling this await cancels the call only if it has not
        # started; a running one goes on to commit or roll back.
        return await asyncio.wrap_future(submitted)

    def _check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("datm.aio was closed: open a new one to use it again")

    def _release(self, future: concurrent.futures.Future[Any]) -> None:
        self._in_flight.discard(future)
        if self._semaphore is not None:
            self._semaphore.release()

    async def drain(self) -> None:
        """Wait until every call submitted so far has ended."""
        while self._in_flight:
            # asyncio.wait cancels nothing it waits for, even when drain is cancelled.
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._in_flight)])
            await asyncio.sleep(0)  # let the releases scheduled by the threads run

    async def aclose(self) -> None:
        """No new calls; wait for those running, then stop the threads (on a thread)."""
        self._closed = True
        await self.drain()
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._executor.shutdown, wait=True)
        )


class AsyncService(Generic[S]):
    """The async view of one service: every public method of its class, awaitable
    (or an async iterator, or an async context manager: see ``datm.aio``)."""

    def __init__(self, injector: Injector, cls: type[S], runner: _Runner) -> None:
        self._injector = injector
        self._cls = cls
        self._runner = runner
        self._kinds = public_methods(cls)

    def __repr__(self) -> str:
        return f"<async {self._cls.__name__}>"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._kinds})

    def _bound(self, name: str) -> Callable[..., Any]:
        # On a worker thread: resolving a service may build its providers (engine).
        method: Callable[..., Any] = getattr(self._injector.get(self._cls), name)
        return method

    def __getattr__(self, name: str) -> Any:
        kinds = self.__dict__.get("_kinds", {})
        if name not in kinds:
            raise AttributeError(f"{self._cls.__name__} has no public method {name!r}")
        kind = kinds[name]
        if kind == "iterator":
            return functools.partial(self._iterate, name)
        if kind == "context":
            return functools.partial(self._context, name)
        return functools.partial(self._call, name)

    async def _call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        return await self._runner.run(lambda: self._bound(name)(*args, **kwargs))

    async def _iterate(self, name: str, /, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        # The call runs at the first step (a bad argument fails there), each step on
        # the pool; a lock keeps a step and the closing from running at once.
        guard = threading.Lock()
        iterator: Iterator[Any] | None = None

        def step() -> Any:
            nonlocal iterator
            with guard:
                if iterator is None:
                    iterator = iter(self._bound(name)(*args, **kwargs))
                return next(iterator, _STOPPED)

        def stop() -> None:
            with guard:
                closing = getattr(iterator, "close", None)
                if closing is not None:
                    closing()

        try:
            while (item := await self._runner.run(step)) is not _STOPPED:
                yield item
        finally:
            if iterator is not None:
                await asyncio.shield(self._runner.run(stop))

    def _context(self, name: str, /, *args: Any, **kwargs: Any) -> _ThreadContext:
        return _ThreadContext(lambda: self._bound(name)(*args, **kwargs))


class _ThreadContext:
    """An async context manager around a sync one whose enter and exit run on one
    thread of its own (a lock may belong to the thread that took it)."""

    def __init__(self, make: Callable[[], AbstractContextManager[Any]]) -> None:
        self._make = make
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._manager: AbstractContextManager[Any] | None = None

    async def _on_thread(self, function: Callable[[], T]) -> T:
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        # Shielded: a cancelled enter or exit still ends, so the lock is not left
        # half taken by a thread nobody will come back to.
        return await asyncio.shield(loop.run_in_executor(self._thread, function))

    async def __aenter__(self) -> Any:
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="datm-aio-cm")

        def enter() -> Any:
            self._manager = self._make()
            return self._manager.__enter__()

        try:
            return await self._on_thread(enter)
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> bool | None:
        manager, thread = self._manager, self._thread
        assert manager is not None and thread is not None
        try:
            return await self._on_thread(lambda: manager.__exit__(kind, error, trace))
        finally:
            thread.shutdown(wait=False)


class AsyncServices:
    """Async views of every service of ``datm.wiring.modules.SERVICES``, as
    attributes (``trading``, ``auth``, ``market``, ``artist``, ``player``,
    ``league``, ``close``, ``analytics``, ``audit``, ...) and by class
    (``get(TradingService)``)."""

    def __init__(self, injector: Injector, max_calls: int | None = None) -> None:
        self.injector = injector
        chosen = injector.get(Settings).aio_max_calls if max_calls is None else max_calls
        self._runner = _Runner(chosen)
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
    build = functools.partial(create_injector, config, wiring=wiring, clock=clock, environ=environ)
    injector = await loop.run_in_executor(None, build)
    try:
        opened = AsyncServices(injector)
    except BaseException:
        await loop.run_in_executor(None, close, injector)
        raise
    try:
        yield opened
    finally:
        try:
            await opened.aclose()
        finally:
            await loop.run_in_executor(None, close, injector)
