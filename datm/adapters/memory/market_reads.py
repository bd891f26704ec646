"""Market read models in memory: computed from the records at each call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from datm.ports.market_reads import GameCounts, MarketReads
from datm.ports.unit_of_work import UnitOfWorkFactory


class InMemoryMarketReads(MarketReads):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def most_bought(
        self, limit: int, since: date | None, now: datetime
    ) -> list[tuple[str, str, int]]:
        start = None if since is None else datetime.combine(since, time.min, tzinfo=UTC)
        with self._uow() as uow:
            ranked = uow.trades.most_bought(limit, start)
            names = uow.artists.find_many([mbid for mbid, _ in ranked])
        return [(m, names[m].name if m in names else m, n) for m, n in ranked]

    def counts(self, since: date, now: datetime) -> GameCounts:
        with self._uow() as uow:
            per_day = uow.trades.per_day(since)
            return GameCounts(
                uow.players.count(), uow.artists.count(), tuple(sorted(per_day.items()))
            )
