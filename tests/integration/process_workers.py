"""What the worker processes of ``test_postgres_processes.py`` run.

Every function here is importable by a child process started with the
``spawn`` method: it takes only picklable arguments, builds its own injector
from the database URL, as an api process does, and reports through queues.
Every call's outcome is recorded as an ``Outcome``: a success with what the
receipt said, or the exception's class, datm code and family. Workers catch
``Exception`` on purpose: the test then asserts that every one of them was a
datm error.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from injector import Injector
from through_aio import portal_over

from datm.domain.errors import DatmError
from datm.services.analytics import AnalyticsService
from datm.services.players import PlayerService
from datm.services.trading import TradingService
from datm.settings import Settings
from datm.wiring import create_injector

QUOTE_SECRET = "process-tests-quote-secret-0123456789"
JOIN_SECONDS = 120.0  # the longest any worker thread may take to finish


def build_injector(url: str, **settings: Any) -> Injector:
    """An api process's injector on the game database at ``url``."""
    return create_injector(
        Settings(database_url=url, quote_secret=QUOTE_SECRET, **settings), wiring="postgres"
    )


def quote_id_of(token: str) -> str:
    """The id a signed quote carries (its payload is URL-safe base64 JSON)."""
    payload = token.split(".")[0]
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(document["i"])


@dataclass(frozen=True, slots=True)
class Outcome:
    """One call as a worker saw it. ``error`` is empty on success."""

    op: str  # quote_buy, quote_sell, buy, sell, reset
    player: str
    mbid: str = ""
    quote_id: str = ""
    price: int = 0
    error: str = ""  # module.Class of the exception
    code: str = ""  # its datm code
    family: str = ""  # its datm family
    sold: int = 0  # a reset: how many holdings it sold
    is_datm: bool = True
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return not self.error


def failure(op: str, player: str, error: Exception, **facts: Any) -> Outcome:
    kind = type(error)
    return Outcome(
        op,
        player,
        error=f"{kind.__module__}.{kind.__qualname__}",
        code=getattr(error, "code", ""),
        family=getattr(error, "family", ""),
        is_datm=isinstance(error, DatmError),
        **facts,
    )


class Trader:
    """Quotes, buys, sells and resets through one injector's services."""

    def __init__(self, injector: Injector) -> None:
        self.trading: Any = injector.get(TradingService)
        self.players: Any = injector.get(PlayerService)

    @classmethod
    @contextmanager
    def through_aio(cls, injector: Injector, calls: int) -> Iterator[Trader]:
        """The same trader with every call awaited through datm.aio, on an event
        loop of its own (``through_aio``), ``calls`` at once at most."""
        trader = cls(injector)
        with portal_over(injector, calls) as portal:
            trader.trading = portal.face(TradingService)
            trader.players = portal.face(PlayerService)
            yield trader

    def trade(self, player: str, key: str, mbid: str, side: str) -> list[Outcome]:
        """Quote one side, then execute the quote if one was given."""
        try:
            signed = self.trading.quote(key, mbid, side)
        except Exception as error:
            return [failure(f"quote_{side}", player, error, mbid=mbid)]
        quote_id = quote_id_of(signed.token)
        quoted = Outcome(f"quote_{side}", player, mbid, quote_id, signed.price)
        execute = self.trading.buy if side == "buy" else self.trading.sell
        try:
            receipt = execute(key, signed.token)
        except Exception as error:
            return [quoted, failure(side, player, error, mbid=mbid, quote_id=quote_id)]
        return [quoted, Outcome(side, player, mbid, quote_id, receipt.price)]

    def reset(self, player: str, key: str) -> Outcome:
        try:
            result = self.players.reset(key)
        except Exception as error:
            return failure("reset", player, error)
        return Outcome("reset", player, sold=len(result.sold))

    def holds(self, player: str, mbid: str) -> bool:
        profile = self.players.profile(player, with_images=False)
        return any(h.market.mbid == mbid for h in profile.holdings)


def _run_threads(count: int, target: Callable[[int], None]) -> list[str]:
    """Run ``target(i)`` in ``count`` threads; the tracebacks of those that raised
    or did not finish within JOIN_SECONDS."""
    problems: list[str] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException:
            problems.append(traceback.format_exc())

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            problems.append(f"{thread.name} did not finish within {JOIN_SECONDS} s")
    return problems


# --- many processes -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HammerPlan:
    url: str
    sessions: tuple[tuple[str, str], ...]  # (player, session key)
    mbids: tuple[str, ...]
    threads: int
    ops_per_thread: int
    reset_share: float = 0.03
    through_aio: bool = False  # each call awaited through datm.aio


def hammer(plan: HammerPlan, worker: int, results: Queue[Any]) -> None:
    """Random quotes, buys, sells and resets until every thread has made
    ``ops_per_thread`` calls; puts ``(worker, outcomes, problems)``."""
    outcomes: list[Outcome] = []
    problems: list[str] = []
    try:
        with ExitStack() as stack:
            injector = build_injector(plan.url)
            trader = (
                stack.enter_context(Trader.through_aio(injector, plan.threads))
                if plan.through_aio
                else Trader(injector)
            )

            def run(index: int) -> None:
                rng = random.Random(worker * 1000 + index)
                mine: list[Outcome] = []
                while len(mine) < plan.ops_per_thread:
                    player, key = rng.choice(plan.sessions)
                    if rng.random() < plan.reset_share:
                        mine.append(trader.reset(player, key))
                        continue
                    side = rng.choice(("buy", "sell"))
                    mine += trader.trade(player, key, rng.choice(plan.mbids), side)
                outcomes.extend(mine)  # list.extend is atomic under the GIL

            problems += _run_threads(plan.threads, run)
    except BaseException:
        problems.append(traceback.format_exc())
    results.put((worker, outcomes, problems))


# --- double spend ---------------------------------------------------------------


def duel(
    url: str, key: str, worker: int, inbox: Queue[Any], outbox: Queue[Any], barrier: Barrier
) -> None:
    """For every ``(round, side, token)`` from ``inbox``: wait at ``barrier`` with the
    other duellist, execute the token, put ``(worker, round, outcome)``. ``None`` ends."""
    injector = build_injector(url)
    trading = injector.get(TradingService)
    injector.get(PlayerService).money(key)  # warm the session cache and the pool
    while True:
        job = inbox.get(timeout=JOIN_SECONDS)
        if job is None:
            return
        number, side, token = job
        execute = trading.buy if side == "buy" else trading.sell
        barrier.wait(timeout=30)
        try:
            receipt = execute(key, token)
            outcome = Outcome(side, "", quote_id=quote_id_of(token), price=receipt.price)
        except Exception as error:
            outcome = failure(side, "", error, quote_id=quote_id_of(token))
        outbox.put((worker, number, outcome))


# --- killed while trading ------------------------------------------------------


def trade_until_killed(
    url: str, sessions: tuple[tuple[str, str], ...], mbids: tuple[str, ...], threads: int
) -> None:
    """Trade from ``threads`` threads, recording nothing, until killed (or
    JOIN_SECONDS pass)."""
    trader = Trader(build_injector(url))
    deadline = time.monotonic() + JOIN_SECONDS

    def run(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < deadline:
            player, key = rng.choice(sessions)
            if rng.random() < 0.03:
                trader.reset(player, key)
            else:
                trader.trade(player, key, rng.choice(mbids), rng.choice(("buy", "sell")))

    _run_threads(threads, run)


# --- the market lock -----------------------------------------------------------


def hold_market_lock(url: str, outbox: Queue[Any]) -> None:
    """Take the market lock, say so, and keep it until killed (or JOIN_SECONDS pass)."""
    analytics = build_injector(url).get(AnalyticsService)
    analytics.acquire_market_lock(timeout=10)
    outbox.put("held")
    time.sleep(JOIN_SECONDS)
    analytics.release_market_lock()


# --- postgres restarted ----------------------------------------------------------


def trade_through_outage(
    trader: Trader, player: str, key: str, mbid: str, stop: threading.Event, seen: list[Outcome]
) -> None:
    """Buy and sell one artist for one player until ``stop``, appending every
    outcome to ``seen``. After a trade failed transiently its result is unknown (the
    commit may have landed before the connection died), so the thread reads the
    player's profile before it trades again: it never expects a data error."""
    holds: bool | None = False
    while not stop.is_set():
        if holds is None:
            try:
                holds = trader.holds(player, mbid)
            except Exception as error:
                seen.append(failure("profile", player, error))
                time.sleep(0.01)
                continue
        side = "sell" if holds else "buy"
        outcomes = trader.trade(player, key, mbid, side)
        seen.extend(outcomes)
        last = outcomes[-1]
        if last.ok and last.op == side:
            holds = not holds
        elif last.op == side:
            holds = None
        if not last.ok:
            time.sleep(0.01)
