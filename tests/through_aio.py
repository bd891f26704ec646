"""The contract suite through ``datm.aio``: a ``Game`` whose services are sync
stand-ins that send every call through datm.aio's awaitable views, on an event
loop of their own (anyio's blocking portal), and give back what it gave.

A contract module marked ``through_aio`` runs each of its tests twice per backend:
directly, and with this game (``tests/conftest.py``). The same assertions then hold
of the same results and errors, awaited.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from anyio.from_thread import BlockingPortal, start_blocking_portal
from harness import Game
from injector import Injector

import datm.aio
from datm.wiring.modules import SERVICES

T = TypeVar("T")


class ThroughAio:
    """A service's sync face whose every public method awaits datm.aio's view of it."""

    def __init__(self, portal: BlockingPortal, view: datm.aio.AsyncService[Any], cls: type):
        self._portal = portal
        self._view = view
        self._kinds = datm.aio.public_methods(cls)
        self._calls = 0  # private: a public name could hide a service method

    def __getattr__(self, name: str) -> Callable[..., Any]:
        kinds = self.__dict__.get("_kinds", {})
        if name not in kinds:
            raise AttributeError(name)
        awaitable = getattr(self._view, name)
        if kinds[name] == "iterator":
            return functools.partial(self._iterate, awaitable)
        if kinds[name] == "context":
            return functools.partial(self._context, awaitable)
        return functools.partial(self._call, awaitable)

    def _call(self, awaitable: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self._calls += 1
        return self._portal.call(functools.partial(awaitable, *args, **kwargs))

    def _iterate(
        self, awaitable: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        self._calls += 1

        async def collect() -> list[Any]:
            steps: AsyncIterator[Any] = awaitable(*args, **kwargs)
            return [item async for item in steps]

        return iter(self._portal.call(collect))

    def _context(
        self, awaitable: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> AbstractContextManager[Any]:
        self._calls += 1
        return self._portal.wrap_async_context_manager(awaitable(*args, **kwargs))


class Portal:
    """datm.aio's services over an injector, on an event loop of their own, and a
    sync face of any service through them (``face``)."""

    def __init__(self, portal: BlockingPortal, services: datm.aio.AsyncServices) -> None:
        self.portal = portal
        self.services = services

    def face(self, cls: type) -> ThroughAio:
        return ThroughAio(self.portal, self.services.get(cls), cls)


@contextmanager
def portal_over(injector: Injector, max_calls: int | None = None) -> Iterator[Portal]:
    """A loop on a thread and datm.aio's services on it; stopped after."""
    with start_blocking_portal("asyncio") as portal:
        services = datm.aio.services(injector, max_calls=max_calls)
        try:
            yield Portal(portal, services)
        finally:
            portal.call(services.aclose)


@dataclass
class AioGame(Game):
    """The game with every service reached through datm.aio."""

    through: Portal
    faces: dict[type, ThroughAio]

    def get(self, cls: type[T]) -> T:
        if cls in SERVICES:
            if cls not in self.faces:
                self.faces[cls] = self.through.face(cls)
            return cast(T, self.faces[cls])
        return self.injector.get(cls)

    @property
    def calls_through_aio(self) -> int:
        return sum(face._calls for face in self.faces.values())


@contextmanager
def aio_game(game: Game) -> Iterator[AioGame]:
    """``game`` with its services through datm.aio; the pool and the loop stopped
    after, and the test fails if it made no call through them."""
    with portal_over(game.injector) as portal:
        through = AioGame(game.injector, game.clock, game.lastfm, portal, {})
        yield through
    assert through.calls_through_aio > 0, "a test marked through_aio made no service call"
