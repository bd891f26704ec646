"""What the close and trader processes of ``test_close_processes.py`` run.

Every function here is importable by a child process started with ``spawn``:
it takes only picklable arguments, builds its own injector from the database
URL (``process_workers.build_injector``), as a close run by cron or an api
process does, and reports through queues and events.

A close run here may be told to die by SIGKILL at one point of its steps
(``KILL_POINTS``). Just before, it writes into ``reached`` (a shared integer)
whether it really is where it means to be (``REACHED``: the market lock held,
a transaction open...) or not (``MISPLACED``), so that the test can tell a kill
at the intended point from a kill elsewhere or any other death.
The seams are the close's own: ``CloseService`` built by hand with a wrapped
``MarketLock``, its ``on_step`` and ``progress`` callbacks, and SQLAlchemy's
``after_cursor_execute`` event on the process's engine for a point inside one
of ``PostgresCloseBook``'s transactions (no change to the library needed).
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import psycopg2.extensions
from injector import Injector
from market_locks import HookedLock
from process_workers import JOIN_SECONDS, Outcome, Trader, _run_threads, build_injector
from sqlalchemy import Engine, event

from datm.adapters.offline.lastfm import OfflineLastfm
from datm.adapters.postgres import close_book
from datm.domain.lastfm import ArtistInfo
from datm.ports.clock import Clock
from datm.ports.close import CloseBook
from datm.ports.leaderboard import Leaderboard
from datm.ports.market import MarketLock
from datm.services import close_fetch
from datm.services.close import CloseService
from datm.services.results import CloseProgress, CloseReport, CloseStep
from datm.settings import Settings

# Where a close may be killed, in the order of its steps.
KILL_POINTS = (
    "cut-off-locked",  # inside the market lock, the cut-off's snapshot taken, nothing written
    "cut-off-copied",  # lock released, holders of record copied, the copy not committed
    "fetching",  # some fresh numbers stored, not all
    "paying",  # inside the third payment transaction, its holders paid, not committed
    "finishing",  # every batch committed, `finish` not called
)
REACHED = 1  # what ``reached`` says when the process died where it was told to
MISPLACED = 2  # ...when it died there but found itself elsewhere (say, no transaction open)
PAYING_BATCH = 3  # the holders' payment transaction (range of names) "paying" dies in
FETCH_STORE_EVERY = 5  # numbers per write while "fetching" (close_fetch stores every 200)
FETCH_WORKERS = 2


def _prefix(statement: Any) -> str:
    """The SQL of one of close_book's statements up to its first bound parameter: how
    it starts once SQLAlchemy has compiled it for the driver."""
    return str(statement.text).split(":", 1)[0]


COPY_HOLDERS_SQL = _prefix(close_book.COPY_HOLDERS)
PAY_HOLDERS_SQL = _prefix(close_book.PAY_HOLDERS)


def growth(mbid: str) -> tuple[int, int]:
    """How much an artist's (listeners, playcount) grow per day in these tests: a
    mix of dividends, no dividend, and negative points, fixed by the MBID."""
    h = int(mbid.replace("-", "")[:8], 16)
    return (h % 5 - 1) * 1_000, (h % 4) * 250_000


class CloseLastfm(OfflineLastfm):
    """The offline last.fm as a close sees it ``step`` days after the artists were
    listed: each artist's numbers grown ``step`` times by ``growth``, so that
    every close of a test pays dividends although the offline numbers change
    only with the real date."""

    def __init__(self, clock: Clock, step: int) -> None:
        super().__init__(clock)
        self._step = step

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        info = super().artist_info(name, mbid, username)
        listeners, playcount = growth(info.mbid)
        return dataclasses.replace(
            info,
            listeners=info.listeners + self._step * listeners,
            playcount=info.playcount + self._step * playcount,
        )


def die(reached: Any, where: int = REACHED) -> None:
    """Say where the process is (``reached``: a ``multiprocessing.Value``), then
    SIGKILL it: no ``finally``, no ``atexit``, no goodbye to the server (it finds
    the sockets closed)."""
    reached.value = where
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(JOIN_SECONDS)  # never reached: the signal cannot be caught


class DyingMarketLock(HookedLock):
    """The process's market lock, killing the process at the end of the close's
    ``with`` block: the cut-off's snapshot is taken and the lock not yet released."""

    def __init__(self, inner: MarketLock, reached: Any) -> None:
        super().__init__(inner)
        self._inner = inner
        self._reached = reached

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        with self._inner.hold(timeout):
            yield
            # Seen from another connection, the market must be closed.
            die(self._reached, MISPLACED if self._inner.is_open() else REACHED)


def _die_after(
    engine: Engine, prefix: str, nth: int, reached: Any, market: MarketLock | None = None
) -> None:
    """Kill the process once the ``nth`` statement starting with ``prefix`` has run:
    inside a transaction (neither committed nor rolled back), or MISPLACED if the
    statement was committed on its own (libpq's view of the connection) or, given
    ``market``, if the market is not open again by then."""
    seen = 0

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal seen
        if not statement.lstrip().startswith(prefix):
            return
        seen += 1
        if seen < nth:
            return
        status = cursor.connection.info.transaction_status
        die(
            reached,
            REACHED if status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS else MISPLACED,
        )


@dataclass(frozen=True, slots=True)
class ClosePlan:
    url: str
    days: tuple[date, ...]  # closed in this order, one CloseService run each
    batch: int  # close_pay_batch (artists) and close_pay_holdings (holdings) per transaction
    first_step: int = 1  # CloseLastfm's step for the first day, one more for each next
    kill_at: str | None = None  # one of KILL_POINTS, or None to run to the end
    pause: float = 0.0  # seconds between two days' closes


def run_close(plan: ClosePlan, reached: Any, outbox: Queue[Any], go: Event | None = None) -> None:
    """Close each day of ``plan`` in turn (dying at ``plan.kill_at``), once ``go`` is
    set if given (the process is started and connected by then); put
    ``("ok", [CloseReport, ...])`` or ``("error", traceback)``."""
    try:
        injector = build_injector(
            plan.url,
            close_pay_batch=plan.batch,
            close_pay_holdings=plan.batch,
            close_fetch_workers=FETCH_WORKERS,
        )
        injector.get(CloseBook).record(plan.days[0])  # type: ignore[type-abstract]
        if go is not None and not go.wait(JOIN_SECONDS):
            raise TimeoutError(f"not told to go within {JOIN_SECONDS} s")
        reports = []
        for number, day in enumerate(plan.days):
            if number:
                time.sleep(plan.pause)  # trades after a cut-off count for the next close
            reports.append(_close_one(injector, plan, day, plan.first_step + number, reached))
    except BaseException:
        outbox.put(("error", traceback.format_exc()))
        return
    outbox.put(("ok", reports))


def _close_one(
    injector: Injector, plan: ClosePlan, day: date, step: int, reached: Any
) -> CloseReport:
    clock = injector.get(Clock)  # type: ignore[type-abstract]
    lock = injector.get(MarketLock)  # type: ignore[type-abstract]
    engine = injector.get(Engine)
    if plan.kill_at == "cut-off-locked":
        lock = DyingMarketLock(lock, reached)
    elif plan.kill_at == "cut-off-copied":
        _die_after(engine, COPY_HOLDERS_SQL, 1, reached, market=lock)  # the lock let go
    elif plan.kill_at == "paying":
        _die_after(engine, PAY_HOLDERS_SQL, PAYING_BATCH, reached)
    elif plan.kill_at == "fetching":
        assert hasattr(close_fetch, "STORE_EVERY"), "close_fetch no longer batches its writes so"
        close_fetch.STORE_EVERY = FETCH_STORE_EVERY
    service = CloseService(
        injector.get(CloseBook),  # type: ignore[type-abstract]
        CloseLastfm(clock, step),
        lock,
        clock,
        injector.get(Settings),
        injector.get(Leaderboard),  # type: ignore[type-abstract]
    )

    def on_step(step: CloseProgress) -> None:
        fetched = step.step is CloseStep.FETCHED and 0 < step.done < step.total
        if plan.kill_at == "fetching" and fetched:
            die(reached)

    def progress(paid: int, total: int) -> None:
        if plan.kill_at == "finishing" and paid == total:
            die(reached)

    return service.run(day=day, progress=progress, on_step=on_step)


# --- trading while a close pays ----------------------------------------------------

RETRIED = ("busy", "conflict")  # what a trader tries again, with a new quote
RETRIES = 5


@dataclass(frozen=True, slots=True)
class TradePlan:
    url: str
    sessions: tuple[tuple[str, str], ...]  # (player, session key); the first is the hot one
    mbids: tuple[str, ...]  # the first is the hot artist
    threads: int
    hot_share: float = 0.35  # of calls on the hot player, and on the hot artist
    reset_share: float = 0.01


@dataclass(frozen=True, slots=True)
class Call:
    """One operation as a trader made it: every attempt's outcomes, the last one's last."""

    attempts: tuple[tuple[Outcome, ...], ...]

    @property
    def last(self) -> Outcome:
        return self.attempts[-1][-1]

    @property
    def retried(self) -> int:
        return len(self.attempts) - 1


def trade_until_stopped(plan: TradePlan, worker: int, stop: Event, results: Queue[Any]) -> None:
    """Quotes, buys, sells and resets from ``plan.threads`` threads until ``stop`` is
    set (or JOIN_SECONDS pass), a Busy or a Conflict tried again up to RETRIES
    times; puts ``(worker, calls, problems)``."""
    calls: list[Call] = []
    problems: list[str] = []
    try:
        trader = Trader(build_injector(plan.url))
        deadline = time.monotonic() + JOIN_SECONDS / 2

        def pick(rng: random.Random, items: tuple[Any, ...]) -> Any:
            return items[0] if rng.random() < plan.hot_share else rng.choice(items)

        def run(index: int) -> None:
            rng = random.Random(worker * 1000 + index)
            mine: list[Call] = []
            while not stop.is_set() and time.monotonic() < deadline:
                player, key = pick(rng, plan.sessions)
                mbid = pick(rng, plan.mbids)
                side = rng.choice(("buy", "sell"))
                resetting = rng.random() < plan.reset_share
                attempts: list[tuple[Outcome, ...]] = []
                for _ in range(RETRIES):
                    if resetting:
                        attempts.append((trader.reset(player, key),))
                    else:
                        attempts.append(tuple(trader.trade(player, key, mbid, side)))
                    if attempts[-1][-1].code not in RETRIED:
                        break
                mine.append(Call(tuple(attempts)))
            calls.extend(mine)  # list.extend is atomic under the GIL

        problems += _run_threads(plan.threads, run)
    except BaseException:
        problems.append(traceback.format_exc())
    results.put((worker, calls, problems))
