"""The in-memory backend under real threads: row locks, used quotes, deadlocks.

Every wait is bounded (barriers, joins, lock timeouts), so a bug fails the test
instead of hanging it; each test then checks an invariant, not a timing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from datm.adapters.clock import ManualClock
from datm.adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from datm.domain.artist import Artist
from datm.domain.errors import Conflict, QuoteInvalid
from datm.domain.player import LedgerKind, Player

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
THREADS = 16
JOIN_TIMEOUT = 20.0
# Work between read and write: without it the GIL runs each short transaction
# whole, and a backend without row locks would pass by luck.
RACE_WINDOW = 0.001


def new_player() -> Player:
    return Player(name=f"p-{uuid.uuid4().hex[:8]}", created_at=NOW)


def new_artist(max_shares: int, holders: int) -> Artist:
    return Artist(
        mbid=str(uuid.uuid4()),
        name="Some Band",
        price=100,
        max_shares=max_shares,
        holders=holders,
        last_close_price=100,
        last_listeners=1000,
        last_playcount=10000,
        listed_on=date(2026, 1, 1),
    )


def race(count: int, body: Callable[[], object]) -> list[object]:
    """Run ``body`` in ``count`` threads released together; its results or errors."""
    barrier = threading.Barrier(count, timeout=JOIN_TIMEOUT)
    results: list[object] = []
    guard = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome = body()
        except Exception as error:  # collected, then asserted on by the test
            outcome = error
        with guard:
            results.append(outcome)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


@pytest.fixture
def uow() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory(InMemoryStore(lock_timeout=10.0))


@pytest.mark.parametrize("round_", range(20))
def test_only_one_of_many_threads_takes_the_last_share(
    uow: InMemoryUnitOfWorkFactory, round_: int
) -> None:
    artist = new_artist(max_shares=5, holders=4)
    with uow() as u:
        u.artists.add(artist)
        u.commit()

    def take_share() -> bool:
        with uow() as u:
            locked = u.artists.get_for_update(artist.mbid)
            if locked.remaining <= 0:
                return False
            time.sleep(RACE_WINDOW)
            locked.holders += 1
            u.commit()
            return True

    results = race(THREADS, take_share)
    assert results.count(True) == 1 and results.count(False) == THREADS - 1
    with uow() as u:
        assert u.artists.get(artist.mbid).holders == 5


def test_money_is_never_spent_twice(uow: InMemoryUnitOfWorkFactory) -> None:
    player, price = new_player(), 3_000  # 20,000 pays for six debits, not sixteen
    with uow() as u:
        u.players.add(player)
        u.commit()

    def debit() -> bool:
        with uow() as u:
            locked = u.players.get_for_update(player.name)
            if locked.money < price:
                return False
            time.sleep(RACE_WINDOW)
            u.ledger.add(locked.change_money(-price, LedgerKind.BUY, NOW))
            u.commit()
            return True

    results = race(THREADS, debit)
    with uow() as u:
        money = u.players.get(player.name).money
        assert money >= 0
        assert money == player.money - price * results.count(True)
        assert results.count(True) == player.money // price
        assert u.ledger.total(player.name) == money - player.money


@pytest.mark.parametrize("round_", range(50))
def test_a_quote_is_executed_once_by_racing_units_of_work(
    uow: InMemoryUnitOfWorkFactory, round_: int
) -> None:
    quote_id = uuid.uuid4().hex

    def execute() -> bool:
        with uow() as u:
            u.quotes.mark_used(quote_id, NOW)
            time.sleep(RACE_WINDOW)
            u.commit()
            return True

    results = race(2, execute)
    assert results.count(True) == 1
    assert sum(isinstance(r, QuoteInvalid) for r in results) == 1


def test_racing_adds_of_one_player_let_one_win_and_the_other_conflict(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    name = new_player().name

    def add() -> bool:
        with uow() as u:
            u.players.add(Player(name, NOW))
            u.commit()
            return True

    results = race(4, add)
    assert results.count(True) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3


def test_locking_in_opposite_order_raises_conflict_and_leaves_no_lock() -> None:
    uow = InMemoryUnitOfWorkFactory(InMemoryStore(lock_timeout=0.3))
    first, second = new_player(), new_player()
    with uow() as u:
        u.players.add(first)
        u.players.add(second)
        u.commit()
    both_hold_one = threading.Barrier(2, timeout=JOIN_TIMEOUT)
    orders = iter([(first, second), (second, first)])
    order_guard = threading.Lock()

    def lock_both() -> bool:
        with order_guard:
            a, b = next(orders)
        with uow() as u:
            u.players.get_for_update(a.name)
            both_hold_one.wait()
            u.players.get_for_update(b.name)
            u.commit()
            return True

    results = race(2, lock_both)
    assert any(isinstance(r, Conflict) for r in results)
    assert all(r is True or isinstance(r, Conflict) for r in results)
    with uow() as u:  # nothing left locked
        u.players.get_for_update(first.name)
        u.players.get_for_update(second.name)


def test_a_read_never_sees_half_a_commit(uow: InMemoryUnitOfWorkFactory) -> None:
    pair = [new_artist(1, 0), new_artist(1, 0)]
    with uow() as u:
        for artist in pair:
            u.artists.add(artist)
        u.commit()
    stop = threading.Event()
    sums: set[int] = set()

    def read() -> None:
        while not stop.is_set():
            with uow() as u:
                sums.add(sum(a.price for a in u.artists.find_many([a.mbid for a in pair]).values()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for _ in range(300):  # each commit moves 1 from one price to the other
        with uow() as u:
            first, second = (u.artists.get_for_update(a.mbid) for a in pair)
            first.price, second.price = first.price + 1, second.price - 1
            u.commit()
    stop.set()
    reader.join(JOIN_TIMEOUT)
    assert not reader.is_alive() and sums == {200}


def test_used_quote_ids_are_forgotten_a_day_after_they_expire() -> None:
    clock = ManualClock(NOW)
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store, clock)
    with uow() as u:
        u.quotes.mark_used("old", NOW - timedelta(days=2))
        u.quotes.mark_used("recent", NOW - timedelta(hours=1))
        u.commit()
    assert set(store.used_quotes) == {"recent"}
