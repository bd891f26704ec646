"""The daily close in memory: the same record and the same payment as Postgres's
set-based close, applied through units of work on the store (tests, the demo).

A reset or a deletion takes the player out of every close's holders of record
(``forget_holder``, at its commit), where Postgres marks the player's row: so here
the holdings of record dealt with are those on record minus those still to pay."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date, datetime

from datm.adapters.memory.store import CloseArtistRow, InMemoryStore
from datm.adapters.memory.unit_of_work import InMemoryUnitOfWork
from datm.domain import close as close_rules
from datm.domain import trophies
from datm.domain.closes import (
    ArtistNumbers,
    ArtistOfRecord,
    CloseProgressCounts,
    CloseRecord,
    CutOff,
    PaidBatch,
)
from datm.domain.errors import UnknownPlayer
from datm.domain.player import LedgerKind, Player
from datm.ports.close import CloseBook


class InMemoryCloseBook(CloseBook):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def record(self, day: date) -> CloseRecord | None:
        with self._store.mutex:
            return self._store.closes.get(day)

    def unfinished_before(self, day: date) -> date | None:
        with self._store.mutex:
            days = [r.day for r in self._store.closes.values() if r.day < day and not r.finished]
        return min(days, default=None)

    def latest_day(self) -> date | None:
        with self._store.mutex:
            return max(self._store.closes, default=None)

    def cut_off(
        self,
        day: date,
        started_at: datetime,
        top_listeners: int,
        market: AbstractContextManager[object],
    ) -> CutOff:
        store = self._store
        with store.mutex:
            done = self._existing(day)
        if done is not None:
            return done
        with market, store.mutex:  # a copy in memory is as quick as taking a snapshot
            done = self._existing(day)
            if done is not None:
                return done
            earlier = store.closes.get(day)
            artists = {
                a.mbid: CloseArtistRow(
                    a.price, ArtistOfRecord(a.mbid, a.last_listeners, a.last_playcount)
                )
                for a in store.artists.values()
                if not close_rules.is_closed(a, day)
            }
            holders: dict[str, set[str]] = {mbid: set() for mbid in artists}
            for player in store.players.values():
                for mbid in player.holdings:
                    if mbid in holders:
                        holders[mbid].add(player.name)
            store.close_artists[day] = artists
            store.close_holders[day] = holders
            players = len(store.players)
            pairs = sum(len(names) for names in holders.values())
            store.closes[day] = CloseRecord(
                day,
                earlier.started_at if earlier else started_at,
                cut_off_at=started_at,
                players=players,
                top_listeners=top_listeners,
                paid_from=earlier.paid_from if earlier else None,
                holdings=pairs,
            )
        return CutOff(day, started_at, players, top_listeners, len(artists), pairs)

    def _existing(self, day: date) -> CutOff | None:
        """Under the mutex."""
        record = self._store.closes.get(day)
        if record is None or record.cut_off_at is None:
            return None
        return CutOff(
            day,
            record.cut_off_at,
            record.players or 0,
            record.top_listeners or 0,
            len(self._store.close_artists.get(day, {})),
            record.holdings,
        )

    def to_fetch(self, day: date, after: str | None, limit: int) -> list[ArtistOfRecord]:
        with self._store.mutex:
            rows = self._store.close_artists.get(day, {})
            start = after or ""
            waiting = sorted(m for m, row in rows.items() if row.numbers is None and m > start)
            return [rows[m].last for m in waiting[:limit]]

    def store_numbers(self, day: date, numbers: Sequence[ArtistNumbers]) -> int:
        stored = 0
        with self._store.mutex:
            rows = self._store.close_artists.get(day, {})
            for found in numbers:
                row = rows.get(found.mbid)
                if row is not None and row.numbers is None:
                    row.numbers = found
                    stored += 1
        return stored

    def pay_holders(self, day: date, limit: int, at: datetime) -> PaidBatch:
        store = self._store
        with store.close_payment:
            with store.mutex:
                record = store.closes.get(day)
                rows = store.close_artists.get(day, {})
                if record is None or any(r.numbers is None for r in rows.values()):
                    return PaidBatch(0, 0, 0, 0)
                after = record.holders_paid_through or ""
                names = _range(_unpaid(store.close_holders.get(day, {}), after), limit)
            if not names:
                return PaidBatch(0, 0, 0, 0)
            uow = InMemoryUnitOfWork(store)
            with uow:
                players = _lock_players(uow, names)
                with store.mutex:  # read after the locks: a reset meanwhile is seen
                    held = _unpaid(store.close_holders.get(day, {}), after, names[-1])
                paid = dividends = points = 0
                for name, mbid in held:
                    player = players.get(name)
                    numbers = rows[mbid].numbers
                    assert numbers is not None  # checked above: every artist's are in
                    if player is None:
                        continue
                    _pay(uow, player, mbid, numbers, day, at)
                    paid += 1
                    dividends += numbers.dividend
                    points += numbers.points
                with store.mutex:  # the payments and the mark in one step
                    uow.commit()
                    store.closes[day] = replace(
                        store.closes[day],
                        holders_paid_through=names[-1],
                        paid_from=store.closes[day].paid_from or at,
                    )
        return PaidBatch(0, paid, dividends, points, len(held))

    def pay_artists(self, day: date, limit: int, at: datetime) -> PaidBatch:
        store = self._store
        with store.close_payment:
            with store.mutex:
                rows = store.close_artists.get(day, {})
                ready = sorted(m for m, r in rows.items() if r.numbers is not None and not r.paid)
                batch = ready[:limit]
            if not batch:
                return PaidBatch(0, 0, 0, 0)
            uow = InMemoryUnitOfWork(store)
            with uow:
                for mbid in batch:
                    numbers = rows[mbid].numbers
                    assert numbers is not None  # the batch holds artists with numbers only
                    artist = uow.artists.get_for_update(mbid)
                    uow.history.put(close_rules.apply_close(artist, numbers, rows[mbid].price, day))
                with store.mutex:  # the batch and its mark in one step, as one transaction
                    uow.commit()
                    for mbid in batch:
                        rows[mbid].paid = True
                    record = store.closes[day]
                    if record.paid_from is None:
                        store.closes[day] = replace(record, paid_from=at)
        return PaidBatch(len(batch), 0, 0, 0)

    def progress(self, day: date) -> CloseProgressCounts:
        with self._store.mutex:
            rows = list(self._store.close_artists.get(day, {}).values())
            record = self._store.closes.get(day)
            after = (record.holders_paid_through if record else None) or ""
            unpaid = len(_unpaid(self._store.close_holders.get(day, {}), after))
        fetched = [r for r in rows if r.numbers is not None]
        holdings = record.holdings if record is not None else 0
        return CloseProgressCounts(
            len(rows),
            len(fetched),
            sum(r.paid for r in rows),
            sum(r.numbers.failure is not None for r in fetched if r.numbers is not None),
            holdings,
            holdings - unpaid,
        )

    def kept(self, day: date) -> list[tuple[str, str, str]]:
        with self._store.mutex:
            rows = dict(self._store.close_artists.get(day, {}))
        return [
            (mbid, *row.numbers.failure)
            for mbid, row in sorted(rows.items())
            if row.numbers is not None and row.numbers.failure is not None
        ]

    def finish(self, day: date, at: datetime) -> bool:
        store = self._store
        with store.close_payment:
            with store.mutex:
                record = store.closes.get(day)
                if record is None or record.cut_off_at is None:
                    return False
                if record.finished:
                    return True
                rows = store.close_artists.get(day, {})
                of_record = store.close_holders.get(day, {})
                unpaid = _unpaid(of_record, record.holders_paid_through or "")
                if unpaid or not all(row.paid for row in rows.values()):
                    return False
                names = sorted(
                    {n for held in store.close_holders.get(day, {}).values() for n in held}
                )
            uow = InMemoryUnitOfWork(store)
            with uow:
                for player in _lock_players(uow, names).values():
                    # Once per close, as Postgres does.
                    prices = uow.artists.prices(sorted(player.holdings)).values()
                    trophies.award_earned(player, prices, at)
                with store.mutex:  # the trophies and the mark in one step
                    uow.commit()
                    self._finished(day, at)
        return True

    def _finished(self, day: date, at: datetime) -> None:
        """Mark the close finished; keep only why artists kept their numbers. Under
        the mutex."""
        store = self._store
        rows = store.close_artists.get(day, {})
        store.closes[day] = replace(store.closes[day], finished_at=at, artists_closed=len(rows))
        store.close_holders.pop(day, None)
        store.close_artists[day] = {
            m: r for m, r in rows.items() if r.numbers is not None and r.numbers.failure
        }


def _unpaid(
    of_record: dict[str, set[str]], after: str, upto: str | None = None
) -> list[tuple[str, str]]:
    """(player, mbid) of record after ``after`` (up to ``upto``), by player name."""
    return sorted(
        (name, mbid)
        for mbid, names in of_record.items()
        for name in names
        if name > after and (upto is None or name <= upto)
    )


def _range(unpaid: list[tuple[str, str]], limit: int) -> list[str]:
    """The players of the first ``limit`` holdings, with all of the last one's."""
    if not unpaid:
        return []
    last = unpaid[min(limit, len(unpaid)) - 1][0]
    return sorted({name for name, _ in unpaid if name <= last})


def _lock_players(uow: InMemoryUnitOfWork, names: list[str]) -> dict[str, Player]:
    """The holders still in the game, locked in name order."""
    found: dict[str, Player] = {}
    for name in names:
        try:
            found[name] = uow.players.get_for_update(name)
        except UnknownPlayer:
            continue  # left the game: the rules pay nobody who left
    return found


def _pay(
    uow: InMemoryUnitOfWork,
    player: Player,
    mbid: str,
    numbers: ArtistNumbers,
    day: date,
    at: datetime,
) -> None:
    if numbers.dividend:
        entry = player.change_money(
            numbers.dividend, LedgerKind.DIVIDEND, at, f"{mbid}:{day.isoformat()}"
        )
        uow.ledger.add(entry)
    player.add_points(numbers.points, day)
