"""Many api processes on one Postgres: the races issue #4 is about.

Real processes (started with ``spawn``, each building its own injector from
the URL as an api process does) and real threads, on a game database of their
own per test (``process_world.open_world``). Every join and every wait is
bounded; no test asserts a timing. Afterwards the database itself is checked:
money from the ledger, holders counted, trades against the ledger, the
holdings and the used quotes (``process_world.assert_invariants``).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from multiprocessing import get_context

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import process_workers as workers  # noqa: E402
from injector import Injector  # noqa: E402
from process_workers import Outcome  # noqa: E402
from process_world import (  # noqa: E402
    ARTISTS,
    WAIT,
    World,
    advisory_locks,
    assert_invariants,
    cluster,
    open_world,
    other_backends,
    server_ready,
    stop_process,
    wait_for,
)
from sqlalchemy import Engine  # noqa: E402

from datm.domain.errors import MarketClosed, TransientError  # noqa: E402
from datm.services.analytics import AnalyticsService  # noqa: E402
from datm.services.market import MarketService  # noqa: E402
from datm.services.players import PlayerService  # noqa: E402
from datm.services.trading import TradingService  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SPAWN = get_context("spawn")


@pytest.fixture
def make_world() -> Iterator[Callable[[int, int], World]]:
    with ExitStack() as stack:
        yield lambda players, artists: stack.enter_context(open_world(players, artists))


def tally(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(f"{o.op}:{o.code or 'ok'}" for o in outcomes)


# --- 1. many processes ----------------------------------------------------------


def test_four_processes_of_eight_threads_leave_every_invariant_and_every_trade_seen(
    make_world: Callable[[int, int], World],
) -> None:
    hammer_and_check(make_world(20, 3), through_aio=False)


def test_four_api_processes_awaiting_through_datm_aio_leave_every_invariant(
    make_world: Callable[[int, int], World],
) -> None:
    # Each process sends its eight threads' calls through datm.aio's awaitables on
    # an event loop of its own: the api written on asyncio, four times over.
    hammer_and_check(make_world(20, 3), through_aio=True)


def hammer_and_check(world: World, *, through_aio: bool) -> None:
    """Four processes hammer the world's players and artists; then every call was
    a datm answer, every quote executed at most once and recorded as its trade,
    and the books hold."""
    plan = workers.HammerPlan(
        world.url,
        world.sessions,
        world.mbids,
        threads=8,
        ops_per_thread=100,
        through_aio=through_aio,
    )
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=workers.hammer, args=(plan, w, results)) for w in range(4)]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=2 * WAIT) for _ in processes]
        for process in processes:
            process.join(WAIT)
    finally:
        for process in processes:
            stop_process(process)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    assert [problem for _, _, problems in reports for problem in problems] == []
    outcomes: list[Outcome] = [o for _, seen, _ in reports for o in seen]
    print(f"\n{len(outcomes)} calls: {sorted(tally(outcomes).items())}")

    assert len(outcomes) >= 3_000
    assert [o for o in outcomes if not o.is_datm] == []
    assert [o for o in outcomes if o.family == "programming"] == []
    executed = [o for o in outcomes if o.op in ("buy", "sell")]
    succeeded = {o.quote_id: o for o in executed if o.ok}
    failed = {o.quote_id for o in executed if not o.ok}
    assert len(succeeded) == sum(o.ok for o in executed)  # every quote executed once
    assert {"buy", "sell"} == {o.op for o in succeeded.values()}
    assert any(o.op == "reset" and o.ok for o in outcomes)

    traded = {
        row.quote_id: (row.player, row.mbid, row.side, row.price)
        for row in world.sql("SELECT * FROM trades WHERE quote_id <> ''")
    }
    assert traded == {q: (o.player, o.mbid, o.op, o.price) for q, o in succeeded.items()}
    released = sum(o.sold for o in outcomes if o.op == "reset" and o.ok)
    assert world.count("SELECT COUNT(*) FROM trades WHERE quote_id = ''") == released
    assert failed & set(traded) == set()  # a quote's trade is the record of its use
    assert_invariants(world)


# --- 2. double spend ------------------------------------------------------------


def test_one_quote_executed_by_two_processes_at_once_succeeds_exactly_once_every_round(
    make_world: Callable[[int, int], World],
) -> None:
    world = make_world(1, 1)
    (_, key), mbid = world.sessions[0], world.mbids[0]
    barrier = SPAWN.Barrier(2)
    inboxes = [SPAWN.Queue(), SPAWN.Queue()]
    outbox = SPAWN.Queue()
    duellists = [
        SPAWN.Process(target=workers.duel, args=(world.url, key, w, inboxes[w], outbox, barrier))
        for w in range(2)
    ]
    for process in duellists:
        process.start()
    trading = world.get(TradingService)
    wins: Counter[tuple[int, str]] = Counter()
    losses: Counter[str] = Counter()
    try:
        for number in range(50):
            for side in ("buy", "sell"):
                token = trading.quote(key, mbid, side).token
                for inbox in inboxes:
                    inbox.put((number, side, token))
                answers = [outbox.get(timeout=WAIT) for _ in duellists]
                assert {n for _, n, _ in answers} == {number}
                winners = [w for w, _, o in answers if o.ok]
                losers = [o for _, _, o in answers if not o.ok]
                assert len(winners) == 1, (number, side, answers)
                assert losers[0].code == "quote_invalid", (number, side, losers[0])
                wins[(winners[0], side)] += 1
                losses[losers[0].error] += 1
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in duellists:
            stop_process(process, grace=10)
    print(f"\nwins per process: {dict(wins)}; losers: {dict(losses)}")
    assert world.count("SELECT COUNT(*) FROM trades WHERE quote_id <> ''") == 100
    assert_invariants(world)


# --- 3. killed mid-trade ----------------------------------------------------------


def test_a_worker_killed_mid_trade_leaves_no_partial_trade_nor_lock(
    make_world: Callable[[int, int], World],
) -> None:
    world = make_world(6, 3)
    worker = SPAWN.Process(
        target=workers.trade_until_killed, args=(world.url, world.sessions, world.mbids, 6)
    )
    in_flight = "state IN ('active', 'idle in transaction')"
    worker.start()
    try:
        # Kill just after a transaction of the worker was seen open: most likely
        # one is open still (nothing depends on it: whatever was open is checked).
        wait_for(
            lambda: (
                world.count("SELECT COUNT(*) FROM trades") >= 150
                and other_backends(world, in_flight) > 0
            ),
            "150 trades and a transaction in flight",
        )
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(WAIT)
    finally:
        stop_process(worker)
    assert worker.exitcode == -signal.SIGKILL
    print(f"\nkilled after {world.count('SELECT COUNT(*) FROM trades')} trades")
    idle_in_transaction = "state LIKE 'idle in transaction%'"
    wait_for(lambda: other_backends(world, idle_in_transaction) == 0, "no open transaction", 10)
    wait_for(lambda: advisory_locks(world) == 0, "no advisory lock", 10)
    assert_invariants(world)
    analytics = world.get(AnalyticsService)
    assert analytics.is_market_open()
    analytics.acquire_market_lock(timeout=5)  # no trade of the dead holds it shared
    analytics.release_market_lock()
    for _, key in world.sessions:  # no row lock of the dead is left either
        world.get(PlayerService).reset(key)
    assert world.count("SELECT COUNT(*) FROM holdings") == 0
    assert_invariants(world)


# --- 4. Postgres restarted --------------------------------------------------------


def test_postgres_restart_fails_calls_transiently_then_the_same_process_trades_again(
    make_world: Callable[[int, int], World],
) -> None:
    if not (shutil.which("pg_ctlcluster") and os.path.isdir("/etc/postgresql")):
        postgres_support.unavailable("cannot restart the test server: no pg_ctlcluster here")
    world = make_world(4, 3)
    trader = workers.Trader(world.injector)
    stop = threading.Event()
    seen: list[list[Outcome]] = [[] for _ in world.sessions]
    threads = [
        threading.Thread(
            target=workers.trade_through_outage,
            args=(trader, player, key, world.mbids[i % 3], stop, seen[i]),
            daemon=True,
        )
        for i, (player, key) in enumerate(world.sessions)
    ]
    # A second api process's injector, idle through the restart with a full pool.
    idle = workers.build_injector(world.url, session_cache_seconds=0)
    idle_engine = idle.get(Engine)
    held = [idle_engine.connect() for _ in range(5)]
    for connection in held:
        connection.exec_driver_sql("SELECT 1")
        connection.close()

    def traded_since(moment: float) -> bool:
        return all(any(o.ok and o.op in ("buy", "sell") and o.at > moment for o in s) for s in seen)

    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: traded_since(0), "a trade in every thread")
        restarted = cluster("restart")
        assert restarted.returncode == 0, restarted.stderr
        wait_for(server_ready, "pg_isready")
        ready = time.monotonic()
        idle_failures = first_success_after_failures(idle, world.sessions[0][1])
        wait_for(lambda: traded_since(ready), "a trade in every thread after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(WAIT)
        idle_engine.dispose()
        if not server_ready():
            cluster("start")
    assert not any(thread.is_alive() for thread in threads)
    outcomes = [o for s in seen for o in s]
    failed = [o for o in outcomes if not o.ok]
    late = [o for o in failed if o.at > ready]
    print(f"\n{len(outcomes)} calls; failures {tally(failed)}; {len(late)} after pg_isready")
    assert failed, "the restart was not noticed"
    assert {o.error for o in failed if o.family != "transient" or not o.is_datm} == set()
    # The idle process's first call finds a dead connection; that one failure marks
    # the whole pool stale, so it does not fail once per pooled connection.
    assert idle_failures <= 1
    assert_invariants(world)


def first_success_after_failures(injector: Injector, key: str) -> int:
    """Call until one call succeeds (at most 20 calls); how many failed before."""
    failures = []
    for _ in range(20):
        try:
            injector.get(PlayerService).money(key)
        except TransientError as error:
            failures.append(error)
            continue
        return len(failures)
    pytest.fail(f"20 calls failed after the restart: {failures}")


# --- 5. the market lock across processes -----------------------------------------


def test_market_lock_held_by_another_process_closes_trades_until_that_process_dies(
    make_world: Callable[[int, int], World],
) -> None:
    world = make_world(1, 1)
    (_, key), mbid = world.sessions[0], world.mbids[0]
    trading, market = world.get(TradingService), world.get(MarketService)
    analytics = world.get(AnalyticsService)
    quoted = trading.quote(key, mbid, "buy")  # while the market is open
    outbox = SPAWN.Queue()
    holder = SPAWN.Process(target=workers.hold_market_lock, args=(world.url, outbox))
    holder.start()
    try:
        assert outbox.get(timeout=WAIT) == "held"
        with pytest.raises(MarketClosed):
            trading.buy(key, quoted.token)
        with pytest.raises(MarketClosed):
            trading.quote(key, mbid, "buy")
        with pytest.raises(MarketClosed):
            world.get(PlayerService).reset(key)
        assert not analytics.is_market_open()
        assert mbid in [m.mbid for m in market.top_by_price(50)]  # reads go on
        assert market.market_data(mbid).remaining == ARTISTS[0][1]
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(WAIT)
    finally:
        stop_process(holder)
    assert holder.exitcode == -signal.SIGKILL

    def bought() -> bool:
        try:
            trading.buy(key, quoted.token)
        except MarketClosed:
            return False
        return True

    wait_for(bought, "a buy after the holder died")
    assert analytics.is_market_open()
    assert world.count("SELECT COUNT(*) FROM trades") == 1
    assert_invariants(world)
