"""datm.aio's pool: its threads (started with it, never more), their CPU priority
below the loop's, calls waiting in a queue in order, and one pool serving one event
loop after another."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from datm.aio.runner import Runner
from datm.domain.errors import ProgrammingError


def nice_here() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("datm-aio-")]


def test_the_threads_start_with_the_pool_and_stop_with_it() -> None:
    before = len(pool_threads())
    runner = Runner(3)
    assert len(pool_threads()) == before + 3
    asyncio.run(runner.aclose())
    assert len(pool_threads()) == before
    with pytest.raises(ProgrammingError, match="closed"):
        asyncio.run(runner.run(lambda: 1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a per-thread nice is Linux's")
def test_the_workers_run_below_the_loops_priority_by_the_setting() -> None:
    async def nices(worker_nice: int) -> tuple[int, int]:
        runner = Runner(2, worker_nice)
        try:
            return nice_here(), await runner.run(nice_here)
        finally:
            await runner.aclose()

    loop_nice, worker = asyncio.run(nices(10))
    assert worker == min(19, loop_nice + 10)
    loop_nice, worker = asyncio.run(nices(0))
    assert worker == loop_nice


def test_calls_beyond_the_threads_wait_in_order_and_all_complete() -> None:
    order: list[int] = []
    lock = threading.Lock()

    def call(n: int) -> int:
        with lock:
            order.append(n)
        return n * n

    async def many() -> list[int]:
        runner = Runner(1)  # one thread: the queue's order is the order of the calls
        try:
            return await asyncio.gather(*(runner.run(call, n) for n in range(50)))
        finally:
            await runner.aclose()

    assert asyncio.run(many()) == [n * n for n in range(50)]
    assert order == list(range(50))


def test_one_pool_serves_one_event_loop_after_another() -> None:
    runner = Runner(2)
    try:
        assert asyncio.run(runner.run(lambda: "first loop")) == "first loop"
        assert asyncio.run(runner.run(lambda: "second loop")) == "second loop"
    finally:
        asyncio.run(runner.aclose())


def test_an_error_is_the_callers_and_a_stop_iteration_cannot_escape_as_such() -> None:
    def fails() -> None:
        raise KeyError("the call's own")

    def stops() -> None:
        raise StopIteration

    async def calls() -> tuple[BaseException, BaseException]:
        runner = Runner(1)
        try:
            failed, stopped = await asyncio.gather(
                runner.run(fails), runner.run(stops), return_exceptions=True
            )
            return failed, stopped
        finally:
            await runner.aclose()

    failed, stopped = asyncio.run(calls())
    assert isinstance(failed, KeyError) and failed.args == ("the call's own",)
    assert isinstance(stopped, RuntimeError) and "StopIteration" in str(stopped)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a per-thread nice is Linux's")
def test_a_pool_started_from_a_worker_is_not_lowered_twice() -> None:
    # A thread starts with its creator's nice: the context managers' own thread is
    # started from a worker, and must sit where the workers sit, not lower.
    async def nested() -> tuple[int, int]:
        outer = Runner(1, 5)
        try:
            inner = await outer.run(Runner, 1, 5)
            try:
                return nice_here(), await inner.run(nice_here)
            finally:
                await inner.aclose()
        finally:
            await outer.aclose()

    main, inner = asyncio.run(nested())
    assert inner == min(19, main + 5)
