"""datm.aio's bounded pool: ``max_calls`` threads, and a queue in front.

A call waiting for its turn is an entry in a queue, not a thread: threads never
outnumber ``max_calls``. A worker that ends a call takes the next one from the
queue at once, so the database sees ``max_calls`` calls at a time even while the
loop is busy.

Why not ``loop.run_in_executor`` on a ``ThreadPoolExecutor``: its hand-off
(a ``concurrent.futures.Future`` with its condition, chained to an asyncio future
by ``wrap_future``) adds 62 us of the process's CPU to a call here, this queue
with one ``call_soon_threadsafe`` per result 36 us (bench/aio_handoff.py,
docs/ASYNC.md). A trade is two calls and about 0.65 ms of CPU, so the difference
is nearly a tenth of what a process can trade.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from datm.domain.errors import ProgrammingError

T = TypeVar("T")

CLOSED = "datm.aio was closed: open a new one to use it again"
QUEUED, RUNNING, SKIPPED = "queued", "running", "skipped"


class _Job(Generic[T]):
    __slots__ = ("call", "future", "loop", "state", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop, call: Callable[[], T]) -> None:
        self.loop = loop
        self.call = call
        self.future: asyncio.Future[T] = loop.create_future()
        self.state = QUEUED
        self.waiters: list[asyncio.Future[None]] = []  # drain's, rarely any


class Runner:
    """Runs sync calls on up to ``max_calls`` threads for coroutines to await."""

    def __init__(self, max_calls: int, worker_nice: int = 0) -> None:
        if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
            raise ProgrammingError(f"max_calls must be a whole number >= 1, not {max_calls!r}")
        self.max_calls = max_calls
        self.worker_nice = worker_nice
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # job states and the count of running calls
        self._running = 0
        self._in_flight: set[_Job[Any]] = set()
        self._closed = False
        self._alive = max_calls
        self._stopped: list[asyncio.Future[None]] = []  # aclose's, settled at the last exit
        # Started here, not as calls come: Thread.start waits for the new thread,
        # a wait the event loop must never make.
        self._threads = [
            threading.Thread(target=self._serve, name=f"datm-aio-{n}", daemon=True)
            for n in range(max_calls)
        ]
        for thread in self._threads:
            thread.start()
        _OPEN.add(self)

    @property
    def running(self) -> int:
        """Calls running on a thread now (cancelled ones included until they end)."""
        return self._running

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise ProgrammingError(CLOSED)
        call = functools.partial(function, *args, **kwargs) if args or kwargs else function
        job = _Job(asyncio.get_running_loop(), call)
        self._in_flight.add(job)
        self._queue.put(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            with self._lock:
                if job.state == QUEUED:  # never to run: its worker will pass it by
                    job.state = SKIPPED
            if job.state == SKIPPED:
                self._ended(job)
            raise  # a running one goes on to commit or roll back as a whole

    def _serve(self) -> None:
        lower_priority(self.worker_nice)
        try:
            self._serve_jobs()
        finally:
            with self._lock:
                self._alive -= 1
                stopped = self._stopped if self._alive == 0 else []
            for waiter in stopped:
                _settle_soon(waiter)

    def _serve_jobs(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.state == SKIPPED:
                    continue
                job.state = RUNNING
                self._running += 1
            result: Any = None
            error: BaseException | None = None
            try:
                if self._closed:  # closed while it waited in the queue: refused, not run
                    raise ProgrammingError(CLOSED)
                result = job.call()
            except BaseException as raised:  # the caller's to see, as with a sync call
                error = raised
            with self._lock:
                self._running -= 1
            try:
                job.loop.call_soon_threadsafe(self._deliver, job, result, error)
            except RuntimeError:  # its loop is closed: nobody awaits it
                self._ended(job)
            del job, result, error  # no reference to the last call while idle

    def _deliver(self, job: _Job[Any], result: Any, error: BaseException | None) -> None:
        self._ended(job)
        if job.future.done():  # its await was cancelled while it ran
            return
        if error is None:
            job.future.set_result(result)
        elif isinstance(error, StopIteration):  # a future cannot carry one
            job.future.set_exception(RuntimeError(f"the call raised {error!r}"))
        else:
            job.future.set_exception(error)

    def _ended(self, job: _Job[Any]) -> None:
        self._in_flight.discard(job)
        for waiter in job.waiters:
            _settle_soon(waiter)

    async def drain(self) -> None:
        """Wait until every call submitted so far has ended."""
        loop = asyncio.get_running_loop()
        while self._in_flight:
            waiters = []
            for job in list(self._in_flight):
                waiter: asyncio.Future[None] = loop.create_future()
                job.waiters.append(waiter)
                if job not in self._in_flight:  # ended on a worker thread meanwhile
                    _settle(waiter)
                waiters.append(waiter)
            # asyncio.wait cancels nothing it waits for, even when drain is cancelled.
            await asyncio.wait(waiters)

    async def aclose(self) -> None:
        """No new calls (queued ones are refused); wait for those running, then stop
        the threads, without blocking the loop."""
        self._closed = True
        await self.drain()
        stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:  # the last thread to exit settles it, or none is left
            if self._alive:
                self._stopped.append(stopped)
            else:
                stopped.set_result(None)
        self._stop_serving()
        await stopped

    def stop_threads(self) -> None:
        """Stop the threads after the calls running, waiting for them (at exit)."""
        for thread in self._stop_serving():
            thread.join()

    def _stop_serving(self) -> list[threading.Thread]:
        """Refuse new calls and tell each thread to exit after the calls before it;
        the threads told (none the second time)."""
        self._closed = True
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        _OPEN.discard(self)
        return threads


def lower_priority(nice: int) -> None:
    """Set the calling thread's CPU priority ``nice`` below the main thread's, where
    the event loop runs (Linux keeps a nice value per thread, and a thread starts
    with its creator's: counting from the main thread, a pool started from a worker
    does not go lower still; elsewhere setpriority would renice the whole process,
    so it is left alone).

    On a busy machine an event loop waits for a CPU behind the threads it feeds;
    the loop's lateness is every task's. Workers below it let the scheduler run the
    loop first (bench/aio.py, 16 threads: loop p99 lateness 9.9 ms at nice 0, 4.7 ms at
    10)."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):  # a hint: refused, the call runs all the same
        # On Linux the main thread's id is the process id.
        main = os.getpriority(os.PRIO_PROCESS, os.getpid())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, main + nice))


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _settle_soon(waiter: asyncio.Future[None]) -> None:
    """From any thread: settle ``waiter`` in its loop, if that loop still runs."""
    with contextlib.suppress(RuntimeError):  # closed: nobody waits on it any more
        waiter.get_loop().call_soon_threadsafe(_settle, waiter)


# The workers are daemon threads, so that a program that never closed datm.aio
# can still exit; at exit the calls running end first, as with concurrent.futures.
_OPEN: weakref.WeakSet[Runner] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    for runner in list(_OPEN):
        runner.stop_threads()
