"""Append-mostly records in memory: trades, ledger, history, closes, leagues.

Reads are "committed + pending": a unit of work sees its own records (a ledger
total right after ``add``) and nobody else's until they commit. The records are
frozen dataclasses, so handing them out needs no copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import islice

from datm.adapters.memory.transaction import Transaction
from datm.domain.artist import HistoryPoint
from datm.domain.closes import CloseRecord
from datm.domain.leagues import League
from datm.domain.player import LedgerEntry
from datm.domain.quotes import Side
from datm.domain.trading import Trade
from datm.ports.repositories import (
    CloseRepository,
    HistoryRepository,
    LeagueRepository,
    LedgerRepository,
    TradeRepository,
)


class InMemoryTradeRepository(TradeRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _newest_first(self) -> Iterator[Trade]:
        """Call under the store mutex."""
        p = self._tx.pending
        yield from reversed(p.trades)
        for trade in reversed(self._tx.store.trades):
            yield replace(trade, player=None) if trade.player in p.anonymised else trade

    def add(self, trade: Trade) -> None:
        self._tx.check_open()
        self._tx.pending.trades.append(trade)

    def recent(self, limit: int) -> list[Trade]:
        with self._tx.committed():
            return list(islice(self._newest_first(), limit))

    def for_player(self, name: str, limit: int) -> list[Trade]:
        with self._tx.committed():
            mine = (t for t in self._newest_first() if t.player == name)
            return list(islice(mine, limit))

    def count_for_player(self, name: str) -> int:
        with self._tx.committed():
            return sum(1 for t in self._newest_first() if t.player == name)

    def most_bought(self, limit: int, since: datetime | None) -> list[tuple[str, int]]:
        with self._tx.committed():
            counts = Counter(
                t.mbid
                for t in self._newest_first()
                if t.side is Side.BUY and (since is None or t.at >= since)
            )
        return sorted(counts.items(), key=lambda c: (-c[1], c[0]))[:limit]

    def per_day(self, since: date) -> dict[date, int]:
        with self._tx.committed():
            days = Counter(_utc_day(t.at) for t in self._newest_first())
        return {day: n for day, n in sorted(days.items()) if day >= since}

    def by_quote(self, quote_id: str) -> Trade | None:
        if not quote_id:
            return None  # trades without a quote (reset, deletion) carry ""
        with self._tx.committed():
            return next((t for t in self._newest_first() if t.quote_id == quote_id), None)

    def anonymise(self, name: str) -> None:
        p = self._tx.pending
        self._tx.check_open()
        p.trades = [replace(t, player=None) if t.player == name else t for t in p.trades]
        p.anonymised.add(name)


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date() if at.tzinfo is not None else at.date()


class InMemoryLedgerRepository(LedgerRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, entry: LedgerEntry) -> None:
        self._tx.check_open()
        self._tx.pending.ledger.append(entry)

    def for_player(self, name: str) -> list[LedgerEntry]:
        p = self._tx.pending
        with self._tx.committed() as store:
            committed = [] if name in p.ledger_deleted else list(store.ledger.get(name, ()))
        return committed + [e for e in p.ledger if e.player == name]

    def total(self, name: str) -> int:
        return sum(e.amount for e in self.for_player(name))

    def delete_for(self, name: str) -> None:
        p = self._tx.pending
        self._tx.check_open()
        p.ledger = [e for e in p.ledger if e.player != name]
        p.ledger_deleted.add(name)


class InMemoryHistoryRepository(HistoryRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _days(self, mbid: str) -> dict[date, HistoryPoint]:
        with self._tx.committed() as store:
            days = dict(store.history.get(mbid, {}))
        days.update({d: pt for (m, d), pt in self._tx.pending.history.items() if m == mbid})
        return days

    def put(self, point: HistoryPoint) -> None:
        self._tx.check_open()
        self._tx.pending.history[(point.mbid, point.day)] = point

    def for_artist(self, mbid: str, since: date) -> list[HistoryPoint]:
        days = self._days(mbid)
        return [days[d] for d in sorted(days) if d >= since]

    def latest(self, mbid: str) -> HistoryPoint | None:
        days = self._days(mbid)
        return days[max(days)] if days else None


class InMemoryCloseRepository(CloseRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, day: date) -> CloseRecord | None:
        with self._tx.committed() as store:
            return self._tx.pending.closes.get(day) or store.closes.get(day)

    def put(self, record: CloseRecord) -> None:
        self._tx.check_open()
        self._tx.pending.closes[record.day] = record

    def latest_day(self) -> date | None:
        with self._tx.committed() as store:
            records = {**store.closes, **self._tx.pending.closes}.values()
            paying = [r.day for r in records if r.paid_from is not None or r.finished]
            return max(paying, default=None)

    def forget_holder(self, player: str) -> None:
        self._tx.check_open()
        self._tx.pending.forgotten_holders.add(player)


class InMemoryLeagueRepository(LeagueRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def all(self) -> list[League]:
        with self._tx.committed() as store:
            return sorted(store.leagues.values(), key=lambda league: league.rank)

    def find(self, uid: str) -> League | None:
        with self._tx.committed() as store:
            return store.leagues.get(uid)
