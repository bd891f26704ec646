"""What datm.aio's tests share: async services over a test game, and a heartbeat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from harness import Game, unique_name

import datm.aio
from datm.services.results import LoginResult

HEARTBEAT_SECONDS = 0.005


@asynccontextmanager
async def aio_of(game: Game, max_calls: int | None = None) -> AsyncIterator[datm.aio.AsyncServices]:
    """datm.aio's services over the game's injector; their threads stopped after."""
    services = datm.aio.services(game.injector, max_calls=max_calls)
    try:
        yield services
    finally:
        await services.aclose()


async def login(game: Game, services: datm.aio.AsyncServices) -> LoginResult:
    """The offline last.fm flow, through datm.aio (the fake's authorise is in memory)."""
    link = await services.auth.login_link()
    assert link.token is not None
    game.lastfm.authorise(link.token, unique_name())
    result: LoginResult = await services.auth.login(link.token)
    return result


@dataclass
class Heartbeat:
    """Sleeps HEARTBEAT_SECONDS again and again and records how late each wake-up
    is: a loop blocked by a call shows up as lateness."""

    lateness: list[float] = field(default_factory=list)
    most_running: int = 0

    async def beat(self, services: datm.aio.AsyncServices) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.lateness.append(time.perf_counter() - start - HEARTBEAT_SECONDS)
            self.most_running = max(self.most_running, services.running)

    def summary(self) -> str:
        ordered = sorted(self.lateness)
        p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
        most = ordered[-1] if ordered else 0.0
        return f"{len(ordered)} beats, p99 lateness {p99 * 1e3:.1f} ms, max {most * 1e3:.1f} ms"
