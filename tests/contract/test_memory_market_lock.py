"""The in-memory market lock: a close shuts out new trades and waits for the rest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from datm.adapters.memory import InMemoryMarketLock, InMemoryStore, InMemoryUnitOfWorkFactory
from datm.domain.errors import MarketClosed, MarketLockBusy, ProgrammingError

WAIT = 10.0  # bound on every wait; none is expected to come near it


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(lock_timeout=1.0)


def eventually(check: Callable[[], bool]) -> None:
    """Poll ``check`` until true, for at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def acquire_in_thread(lock: InMemoryMarketLock) -> tuple[threading.Thread, threading.Event]:
    """Start ``lock.acquire`` in a thread; the event is set once it holds the lock."""
    acquired = threading.Event()

    def acquire() -> None:
        lock.acquire(timeout=WAIT)
        acquired.set()

    thread = threading.Thread(target=acquire, daemon=True)
    thread.start()
    return thread, acquired


def test_acquire_refuses_new_trades_and_waits_for_trades_in_flight(store: InMemoryStore) -> None:
    uow, lock = InMemoryUnitOfWorkFactory(store), InMemoryMarketLock(store)
    in_flight = uow()
    in_flight.market.require_open()
    in_flight.market.require_open()  # idempotent within one unit of work
    closer, acquired = acquire_in_thread(lock)
    eventually(lambda: not lock.is_open())
    with uow() as late, pytest.raises(MarketClosed):
        late.market.require_open()
    assert not acquired.is_set()  # still waiting for the trade in flight
    in_flight.commit()  # the end of its transaction lets the close in
    in_flight.close()
    assert acquired.wait(WAIT)
    closer.join(WAIT)
    with uow() as late, pytest.raises(MarketClosed):
        late.market.require_open()
    lock.release()
    assert lock.is_open()
    with uow() as reopened:
        reopened.market.require_open()


def test_leaving_a_unit_of_work_releases_its_shared_hold(store: InMemoryStore) -> None:
    uow, lock = InMemoryUnitOfWorkFactory(store), InMemoryMarketLock(store)
    with pytest.raises(RuntimeError), uow() as u:
        u.market.require_open()
        raise RuntimeError("trade failed")
    lock.acquire(timeout=0.5)
    lock.release()


def test_release_by_a_non_holder_raises_programming_error(store: InMemoryStore) -> None:
    holder, other = InMemoryMarketLock(store), InMemoryMarketLock(store)
    with pytest.raises(ProgrammingError):
        holder.release()
    holder.acquire(timeout=1.0)
    with pytest.raises(ProgrammingError):
        other.release()
    assert not other.is_open()
    holder.release()
    with pytest.raises(ProgrammingError):
        holder.release()


def test_acquire_timeout_raises_busy_and_leaves_the_market_open(store: InMemoryStore) -> None:
    uow, lock = InMemoryUnitOfWorkFactory(store), InMemoryMarketLock(store)
    with uow() as in_flight:
        in_flight.market.require_open()
        with pytest.raises(MarketLockBusy):
            lock.acquire(timeout=0.05)
        assert lock.is_open()
        with uow() as other:
            other.market.require_open()
    with pytest.raises(ProgrammingError):
        lock.release()


def test_a_second_close_waits_for_the_first(store: InMemoryStore) -> None:
    first, second = InMemoryMarketLock(store), InMemoryMarketLock(store)
    first.acquire(timeout=1.0)
    with pytest.raises(MarketLockBusy):
        second.acquire(timeout=0.05)
    assert not first.is_open()  # the failed wait did not reopen the first close
    waiter, got_it = acquire_in_thread(second)
    first.release()
    assert got_it.wait(WAIT)
    waiter.join(WAIT)
    second.release()
    assert store.market.is_open()


def test_hold_closes_the_market_for_a_block(store: InMemoryStore) -> None:
    uow, lock = InMemoryUnitOfWorkFactory(store), InMemoryMarketLock(store)
    with lock.hold(timeout=1.0), uow() as u, pytest.raises(MarketClosed):
        u.market.require_open()
    assert lock.is_open()
