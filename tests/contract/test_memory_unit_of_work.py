"""The in-memory unit of work: isolation, copies, commit and rollback, locks released."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from datm.adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from datm.domain.artist import Artist
from datm.domain.errors import Conflict, ProgrammingError, UnknownPlayer
from datm.domain.player import LedgerEntry, LedgerKind, Player
from datm.domain.quotes import Side
from datm.domain.trading import Trade

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def new_player() -> Player:
    return Player(name=f"p-{uuid.uuid4().hex[:8]}", created_at=NOW)


def new_artist(price: int = 100, max_shares: int = 1, mbid: str | None = None) -> Artist:
    return Artist(
        mbid=mbid or str(uuid.uuid4()),
        name="Some Band",
        price=price,
        max_shares=max_shares,
        last_close_price=price,
        last_listeners=1000,
        last_playcount=10000,
        listed_on=date(2026, 1, 1),
    )


@pytest.fixture
def uow() -> InMemoryUnitOfWorkFactory:
    # A short lock timeout: a lock left behind shows up as a Conflict, not a hang.
    return InMemoryUnitOfWorkFactory(InMemoryStore(lock_timeout=0.2))


def committed_player(uow: InMemoryUnitOfWorkFactory) -> Player:
    player = new_player()
    with uow() as u:
        u.players.add(player)
        u.commit()
    return player


def test_rollback_discards_added_and_changed_rows(uow: InMemoryUnitOfWorkFactory) -> None:
    existing = committed_player(uow)
    added = new_player()
    with uow() as u:
        u.players.add(added)
        u.players.get_for_update(existing.name).money = 1
        u.ledger.add(LedgerEntry(existing.name, -5, LedgerKind.BUY, NOW))
        u.rollback()
    with uow() as u:
        assert u.players.find(added.name) is None
        assert u.players.get(existing.name).money == existing.money
        assert u.ledger.total(existing.name) == 0


def test_leaving_the_block_without_commit_discards_changes(uow: InMemoryUnitOfWorkFactory) -> None:
    player = new_player()
    with uow() as u:
        u.players.add(player)
    with uow() as u:
        assert u.players.find(player.name) is None


def test_commit_makes_every_change_visible(uow: InMemoryUnitOfWorkFactory) -> None:
    player, artist = committed_player(uow), new_artist()
    with uow() as u:
        u.artists.add(artist)
        u.players.get_for_update(player.name).money = 19_900
        u.ledger.add(LedgerEntry(player.name, -100, LedgerKind.BUY, NOW, artist.mbid))
        u.trades.add(Trade(player.name, artist.mbid, Side.BUY, 100, NOW, "q1"))
        u.commit()
    with uow() as u:
        assert u.players.get(player.name).money == 19_900
        assert u.artists.get(artist.mbid).price == 100
        assert u.ledger.total(player.name) == -100
        assert u.trades.count_for_player(player.name) == 1


def test_uncommitted_changes_are_invisible_to_another_unit_of_work(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    player = committed_player(uow)
    with uow() as writer, uow() as reader:
        writer.players.get_for_update(player.name).money = 7
        writer.trades.add(Trade(player.name, str(uuid.uuid4()), Side.BUY, 1, NOW))
        assert reader.players.get(player.name).money == player.money
        assert reader.trades.count_for_player(player.name) == 0
        writer.commit()
        # Read committed: the reader sees the commit on its next read.
        assert reader.players.get(player.name).money == 7
        assert reader.trades.count_for_player(player.name) == 1


def test_an_exception_inside_the_block_leaves_nothing_behind(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    player, artist = committed_player(uow), new_artist()
    with pytest.raises(RuntimeError), uow() as u:
        u.players.get_for_update(player.name).money = 0
        u.artists.add(artist)
        raise RuntimeError("boom")
    with uow() as u:
        assert u.players.get(player.name).money == player.money
        assert u.artists.find(artist.mbid) is None
        # The locks went with the failed unit of work: these would time out otherwise.
        u.players.get_for_update(player.name)
        u.artists.add(artist)
        u.commit()


def test_objects_returned_are_copies(uow: InMemoryUnitOfWorkFactory) -> None:
    player = committed_player(uow)
    player.money = 1  # the object given to add is not the stored one
    with uow() as u:
        copy = u.players.get(player.name)
        copy.money = 2
        copy.holdings.clear()
        assert u.players.get(player.name).money == 20_000
        locked = u.players.get_for_update(player.name)
        u.commit()
    locked.money = 3  # after commit, the object is detached
    with uow() as u:
        assert u.players.get(player.name).money == 20_000


def test_get_for_update_returns_one_tracked_object_and_reads_see_it(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    player = committed_player(uow)
    with uow() as u:
        first = u.players.get_for_update(player.name)
        first.money = 123
        assert u.players.get_for_update(player.name) is first
        assert u.players.get(player.name).money == 123
        assert u.players.get(player.name) is not first


def test_reads_include_own_pending_records(uow: InMemoryUnitOfWorkFactory) -> None:
    player = committed_player(uow)
    with uow() as u:
        u.ledger.add(LedgerEntry(player.name, -40, LedgerKind.BUY, NOW))
        u.ledger.add(LedgerEntry(player.name, 15, LedgerKind.SELL, NOW))
        u.trades.add(Trade(player.name, str(uuid.uuid4()), Side.BUY, 40, NOW))
        assert u.ledger.total(player.name) == -25
        assert u.trades.count_for_player(player.name) == 1
        assert u.players.count() == 1


def test_add_of_an_existing_player_raises_conflict(uow: InMemoryUnitOfWorkFactory) -> None:
    player = committed_player(uow)
    with uow() as u, pytest.raises(Conflict):
        u.players.add(Player(player.name, NOW))
    with uow() as u:
        u.players.add(twin := new_player())
        with pytest.raises(Conflict):
            u.players.add(Player(twin.name, NOW))


def test_add_of_a_listed_artist_raises_conflict(uow: InMemoryUnitOfWorkFactory) -> None:
    artist = new_artist()
    with uow() as u:
        u.artists.add(artist)
        u.commit()
    with uow() as u, pytest.raises(Conflict):
        u.artists.add(new_artist(price=5, mbid=artist.mbid))


def test_get_for_update_of_an_unknown_player_raises_and_keeps_no_lock(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    name = new_player().name
    with uow() as first:
        with pytest.raises(UnknownPlayer):
            first.players.get_for_update(name)
        with uow() as second:
            second.players.add(Player(name, NOW))  # would time out if the lock stayed
            second.commit()


def test_delete_removes_a_locked_player_and_refuses_an_unlocked_one(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    player = committed_player(uow)
    with uow() as u:
        with pytest.raises(ProgrammingError):
            u.players.delete(u.players.get(player.name))
        u.players.delete(u.players.get_for_update(player.name))
        assert u.players.find(player.name) is None
        assert u.players.count() == 0
        u.commit()
    with uow() as u:
        assert u.players.find(player.name) is None


def test_commit_ends_the_transaction_and_a_second_commit_saves_more(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    player = committed_player(uow)
    with uow() as u:
        u.players.get_for_update(player.name).money = 10
        u.commit()
        with uow() as other:  # the commit released the row lock
            other.players.get_for_update(player.name)
        u.players.get_for_update(player.name).money = 11
        u.commit()
    with uow() as u:
        assert u.players.get(player.name).money == 11


def test_using_a_closed_unit_of_work_raises_programming_error(
    uow: InMemoryUnitOfWorkFactory,
) -> None:
    with uow() as u:
        pass
    with pytest.raises(ProgrammingError):
        u.players.count()
    with pytest.raises(ProgrammingError):
        u.ledger.add(LedgerEntry("x", 1, LedgerKind.DIVIDEND, NOW))
    with pytest.raises(ProgrammingError):
        u.market.require_open()
    with pytest.raises(ProgrammingError):
        u.commit()
    u.rollback()  # harmless, as __exit__ may call it again
    u.close()
