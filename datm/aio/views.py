"""The async views of datm's services: each public method of a service class as
a coroutine function, an async iterator or an async context manager, by its
return annotation (see ``datm.aio``)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager
from typing import Any, Generic, Literal, TypeVar

from injector import Injector

from datm.aio.runner import Runner

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


class AsyncService(Generic[S]):
    """The async view of one service: every public method of its class, awaitable
    (or an async iterator, or an async context manager: see ``datm.aio``)."""

    def __init__(self, injector: Injector, cls: type[S], runner: Runner) -> None:
        self._injector = injector
        self._cls = cls
        self._runner = runner
        self._kinds = public_methods(cls)
        self._service: S | None = None

    def __repr__(self) -> str:
        return f"<async {self._cls.__name__}>"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._kinds})

    def _prepare(self) -> Any:
        """The service, built at the first need (on a thread: it may import, build
        an engine or a client). Private, as every name of this class but the
        service's methods: a public one would hide a method of the same name.
        Services are singletons: two threads building the first at once get one."""
        if self._service is None:
            self._service = self._injector.get(self._cls)
        return self._service

    def _bound(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._prepare(), name)
        return method

    def __getattr__(self, name: str) -> Any:
        kinds = self.__dict__.get("_kinds", {})
        if name not in kinds:
            raise AttributeError(f"{self._cls.__name__} has no public method {name!r}")
        kind = kinds[name]
        offered: Callable[..., Any]
        if kind == "iterator":
            offered = functools.partial(self._iterate, name)
        elif kind == "context":
            offered = functools.partial(self._context, name)
        else:
            offered = functools.partial(self._call, name)
        self.__dict__[name] = offered  # found without __getattr__ from now on
        return offered

    def _call(self, name: str, /, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        # The runner's coroutine itself, not one wrapping it: a frame less per step.
        return self._runner.run(lambda: self._bound(name)(*args, **kwargs))

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
        return _ThreadContext(lambda: self._bound(name)(*args, **kwargs), self._runner)


class _ThreadContext:
    """An async context manager around a sync one whose enter and exit run on one
    thread of its own (a lock may belong to the thread that took it), outside the
    bounded pool for as long as the block lasts."""

    def __init__(self, make: Callable[[], AbstractContextManager[Any]], pool: Runner) -> None:
        self._make = make
        self._pool = pool
        self._thread: Runner | None = None
        self._manager: AbstractContextManager[Any] | None = None

    async def _on_thread(self, function: Callable[[], T]) -> T:
        assert self._thread is not None
        # Shielded: a cancelled enter or exit still ends, so the lock is not left
        # half taken by a thread nobody will come back to.
        return await asyncio.shield(self._thread.run(function))

    async def __aenter__(self) -> Any:
        # The thread is started from the pool: starting one waits, the loop never does.
        self._thread = await self._pool.run(Runner, 1, self._pool.worker_nice)

        def enter() -> Any:
            self._manager = self._make()
            return self._manager.__enter__()

        try:
            return await self._on_thread(enter)
        except BaseException:
            await asyncio.shield(self._thread.aclose())
            raise

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> bool | None:
        manager, thread = self._manager, self._thread
        assert manager is not None and thread is not None
        try:
            return await self._on_thread(lambda: manager.__exit__(kind, error, trace))
        finally:
            await asyncio.shield(thread.aclose())
