"""The unit-of-work port on every backend: commit, rollback, exceptions, tracked
objects, and a lock cycle that surfaces as ``Conflict`` rather than a hang.

Whatever a backend raises is a datm error: a SQLAlchemy or psycopg2 exception
escaping a unit of work is a bug these tests hunt for.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import backends
import pytest
from injector import Injector

from datm.adapters.clock import ManualClock
from datm.domain.artist import Artist
from datm.domain.errors import (
    Conflict,
    DatmError,
    MarketClosed,
    MarketLockBusy,
    ProgrammingError,
)
from datm.domain.player import STARTING_MONEY, LedgerEntry, LedgerKind, Player
from datm.domain.quotes import Side
from datm.domain.trading import Trade
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
LOCK_TIMEOUT = 0.5  # seconds: a lock cycle fails fast instead of waiting the default 5 s
JOIN_TIMEOUT = 30.0


@pytest.fixture
def injector(backend: str) -> Injector:
    return backends.build_injector(backend, ManualClock(NOW), lock_timeout_seconds=LOCK_TIMEOUT)


@pytest.fixture
def uow(injector: Injector) -> UnitOfWorkFactory:
    factory: UnitOfWorkFactory = injector.get(UnitOfWorkFactory)  # type: ignore[type-abstract]
    return factory


def new_player() -> Player:
    return Player(name=f"p-{uuid.uuid4().hex[:12]}", created_at=NOW)


def new_artist(price: int = 100) -> Artist:
    return Artist(
        mbid=str(uuid.uuid4()),
        name="Some Band",
        price=price,
        max_shares=2,
        last_close_price=price,
        last_listeners=1000,
        last_playcount=10000,
        listed_on=date(2026, 11, 1),
    )


def committed_player(uow: UnitOfWorkFactory) -> Player:
    player = new_player()
    with uow() as u:
        u.players.add(player)
        u.commit()
    return player


def committed_artist(uow: UnitOfWorkFactory) -> Artist:
    artist = new_artist()
    with uow() as u:
        u.artists.add(artist)
        u.commit()
    return artist


def money(uow: UnitOfWorkFactory, *names: str) -> list[int]:
    with uow() as u:
        return [u.players.get(name).money for name in names]


# --- commit and rollback ------------------------------------------------------


def test_rollback_discards_added_changed_and_recorded_rows(uow: UnitOfWorkFactory) -> None:
    existing, artist = committed_player(uow), committed_artist(uow)
    added = new_player()
    with uow() as u:
        u.players.add(added)
        u.players.get_for_update(existing.name).money = 1
        u.artists.get_for_update(artist.mbid).price = 7
        u.ledger.add(LedgerEntry(existing.name, -5, LedgerKind.BUY, NOW, artist.mbid))
        u.trades.add(Trade(existing.name, artist.mbid, Side.BUY, 5, NOW))
        u.rollback()
    with uow() as u:
        assert u.players.find(added.name) is None
        assert u.players.get(existing.name).money == STARTING_MONEY
        assert u.artists.get(artist.mbid).price == artist.price
        assert u.ledger.total(existing.name) == 0
        assert u.trades.count_for_player(existing.name) == 0


def test_leaving_the_block_without_commit_discards_changes(uow: UnitOfWorkFactory) -> None:
    existing, added = committed_player(uow), new_player()
    with uow() as u:
        u.players.add(added)
        u.players.get_for_update(existing.name).money = 1
    with uow() as u:
        assert u.players.find(added.name) is None
        assert u.players.get(existing.name).money == STARTING_MONEY


def test_commit_makes_every_change_visible_to_another_unit_of_work(
    uow: UnitOfWorkFactory,
) -> None:
    player, artist = committed_player(uow), new_artist()
    with uow() as writer, uow() as reader:
        writer.artists.add(artist)
        writer.players.get_for_update(player.name).money = STARTING_MONEY - 100
        writer.ledger.add(LedgerEntry(player.name, -100, LedgerKind.BUY, NOW, artist.mbid))
        writer.trades.add(Trade(player.name, artist.mbid, Side.BUY, 100, NOW, "q1"))
        # Uncommitted: the reader sees none of it.
        assert reader.players.get(player.name).money == STARTING_MONEY
        assert reader.artists.find(artist.mbid) is None
        assert reader.ledger.total(player.name) == 0
        assert reader.trades.count_for_player(player.name) == 0
        writer.commit()
        # Read committed: the reader sees the commit on its next read.
        assert reader.players.get(player.name).money == STARTING_MONEY - 100
        assert reader.artists.get(artist.mbid).price == artist.price
        assert reader.ledger.total(player.name) == -100
        assert reader.trades.count_for_player(player.name) == 1
    with uow() as u:
        assert [t.quote_id for t in u.trades.for_player(player.name, 10)] == ["q1"]


def test_commit_ends_the_transaction_and_a_second_commit_saves_more(
    uow: UnitOfWorkFactory,
) -> None:
    player = committed_player(uow)
    with uow() as u:
        u.players.get_for_update(player.name).money = 10
        u.commit()
        with uow() as other:  # the commit released the row lock
            other.players.get_for_update(player.name)
        u.players.get_for_update(player.name).money = 11
        u.commit()
    assert money(uow, player.name) == [11]


def test_an_exception_inside_the_block_leaves_nothing_and_releases_the_locks(
    uow: UnitOfWorkFactory,
) -> None:
    player, artist = committed_player(uow), committed_artist(uow)
    added = new_artist()
    with pytest.raises(RuntimeError), uow() as u:
        u.players.get_for_update(player.name).money = 0
        u.artists.get_for_update(artist.mbid).holders = 1
        u.artists.add(added)
        raise RuntimeError("boom")
    with uow() as u:
        assert u.players.get(player.name).money == STARTING_MONEY
        assert u.artists.get(artist.mbid).holders == 0
        assert u.artists.find(added.mbid) is None
        # The locks went with the failed unit of work: these would be a Conflict otherwise.
        u.players.get_for_update(player.name).money = 1
        u.artists.get_for_update(artist.mbid)
        u.artists.add(added)
        u.commit()
    assert money(uow, player.name) == [1]


# --- tracked objects ------------------------------------------------------------


def test_get_for_update_twice_returns_the_same_object(uow: UnitOfWorkFactory) -> None:
    player, artist = committed_player(uow), committed_artist(uow)
    with uow() as u:
        first = u.players.get_for_update(player.name)
        first.money = 123
        assert u.players.get_for_update(player.name) is first
        locked = u.artists.get_for_update(artist.mbid)
        assert u.artists.get_for_update(artist.mbid) is locked
        assert u.lock_for_trade(player.name, artist.mbid) == (first, locked)
        pair = u.lock_for_trade(player.name, artist.mbid)
        assert pair[0] is first and pair[1] is locked
        u.commit()
    assert money(uow, player.name) == [123]


def test_lock_for_trade_then_get_for_update_returns_the_same_objects(
    uow: UnitOfWorkFactory,
) -> None:
    player, artist = committed_player(uow), committed_artist(uow)
    with uow() as u:
        locked_player, locked_artist = u.lock_for_trade(player.name, artist.mbid)
        assert u.players.get_for_update(player.name) is locked_player
        assert u.artists.get_for_update(artist.mbid) is locked_artist


def test_a_read_of_a_locked_object_is_a_copy_and_changing_it_writes_nothing(
    uow: UnitOfWorkFactory,
) -> None:
    player, artist = committed_player(uow), committed_artist(uow)
    with uow() as u:
        locked_player, locked_artist = u.lock_for_trade(player.name, artist.mbid)
        reads: list[object] = [
            u.players.get(player.name),
            u.players.find(player.name),
            u.artists.get(artist.mbid),
            u.artists.find(artist.mbid),
            u.artists.find_many([artist.mbid])[artist.mbid],
        ]
        assert not [r for r in reads if r is locked_player or r is locked_artist]
        for read in reads:
            if isinstance(read, Player):
                read.money = 1
            else:
                assert isinstance(read, Artist)
                read.price = 1
        u.commit()
    with uow() as u:
        assert u.players.get(player.name).money == STARTING_MONEY
        assert u.artists.get(artist.mbid).price == artist.price


def test_objects_read_or_committed_are_not_written_back(uow: UnitOfWorkFactory) -> None:
    player = committed_player(uow)
    player.money = 1  # the object given to add is not the stored one
    with uow() as u:
        copy = u.players.get(player.name)
        copy.money = 2
        copy.holdings.clear()
        locked = u.players.get_for_update(player.name)
        u.commit()
    locked.money = 3  # after commit, the object is no longer tracked
    with uow() as u:
        u.commit()
    assert money(uow, player.name) == [STARTING_MONEY]


def test_adding_a_taken_name_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    player = committed_player(uow)
    with pytest.raises(Conflict), uow() as u:
        u.players.add(Player(player.name, NOW))
        u.commit()
    with uow() as u:
        assert u.players.count() == 1


def test_using_a_closed_unit_of_work_raises_programming_error(uow: UnitOfWorkFactory) -> None:
    with uow() as u:
        pass
    calls: list[Callable[[], object]] = [
        u.players.count,
        lambda: u.players.get_for_update("anyone"),
        lambda: u.ledger.add(LedgerEntry("x", 1, LedgerKind.DIVIDEND, NOW)),
        u.market.require_open,
        u.commit,
    ]
    for call in calls:
        with pytest.raises(ProgrammingError):
            call()
    u.rollback()  # harmless, as __exit__ may call it again
    u.close()


# --- the market gate ------------------------------------------------------------


def test_a_closed_market_refuses_a_unit_that_requires_it_open_and_keeps_nothing(
    injector: Injector, uow: UnitOfWorkFactory
) -> None:
    player = committed_player(uow)
    market: MarketLock = injector.get(MarketLock)  # type: ignore[type-abstract]
    with market.hold(timeout=5):
        with pytest.raises(MarketClosed), uow() as u:
            u.market.require_open()
            u.players.get_for_update(player.name).money = 1
            u.commit()
        with uow() as u:  # reads go on, and the refused unit left no row lock
            assert u.players.get(player.name).money == STARTING_MONEY
            u.players.get_for_update(player.name)
    with uow() as u:
        u.market.require_open()
        u.players.get_for_update(player.name).money = 2
        with pytest.raises(MarketLockBusy):  # a trade in flight holds the market open
            market.acquire(timeout=0.2)
        u.commit()
    market.acquire(timeout=5)  # the committed unit let go of the market
    market.release()
    assert money(uow, player.name) == [2]


# --- lock cycles ------------------------------------------------------------------


def lock_cycle(uow: UnitOfWorkFactory, a: str, b: str) -> list[object]:
    """Two units, each locking one player and then the other's, in threads that
    meet between their first and second lock; "committed" or the error, by unit."""
    barrier = threading.Barrier(2, timeout=JOIN_TIMEOUT)
    outcomes: list[object] = [None, None]

    def run(i: int, first: str, second: str) -> None:
        try:
            with uow() as u:
                u.players.get_for_update(first).money -= 1
                barrier.wait()  # both hold their first lock: a cycle
                u.players.get_for_update(second).money -= 1
                u.commit()
            outcomes[i] = "committed"
        except BaseException as error:  # collected, then asserted on
            outcomes[i] = error

    threads = [
        threading.Thread(target=run, args=(0, a, b), daemon=True),
        threading.Thread(target=run, args=(1, b, a), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a lock cycle hung"
    return outcomes


def test_two_units_locking_two_players_in_opposite_order_end_in_conflict_not_a_hang(
    uow: UnitOfWorkFactory,
) -> None:
    a, b = committed_player(uow).name, committed_player(uow).name
    wins = 0
    for _ in range(3):
        outcomes = lock_cycle(uow, a, b)

        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert all(isinstance(e, DatmError) for e in errors), [repr(e) for e in errors]
        assert all(isinstance(e, Conflict) for e in errors), [repr(e) for e in errors]
        assert len(errors) >= 1, "a lock cycle cannot let both units commit"
        assert [o for o in outcomes if o not in errors] in ([], ["committed"])
        # A unit that lost took nothing with it; the one that won took one from each.
        wins += outcomes.count("committed")
        assert money(uow, a, b) == [STARTING_MONEY - wins] * 2
        with uow() as u:  # and every lock was released
            u.players.get_for_update(a)
            u.players.get_for_update(b)
