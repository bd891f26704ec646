"""Market read models in memory: computed from the records at each call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from datm.domain.artist import HistoryPoint
from datm.domain.errors import UnknownArtist
from datm.ports.market_reads import (
    ArtistMarket,
    GameCounts,
    ListedArtist,
    MarketReads,
    NamedTrade,
)
from datm.ports.unit_of_work import UnitOfWorkFactory


class InMemoryMarketReads(MarketReads):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def market(self, mbid: str, player: str | None) -> ArtistMarket | None:
        with self._uow() as uow:
            artist = uow.artists.find(mbid)
            if artist is None:
                return None
            holder = uow.players.find(player) if player is not None else None
            latest = uow.history.latest(mbid)
        return ArtistMarket(
            artist,
            latest.points if latest else 0,
            latest.dividend if latest else 0,
            holder is not None and mbid in holder.holdings,
        )

    def history(self, mbid: str, since: date) -> list[HistoryPoint]:
        with self._uow() as uow:
            if uow.artists.find(mbid) is None:
                raise UnknownArtist(mbid)
            return uow.history.for_artist(mbid, since)

    def recent_trades(self, limit: int) -> list[NamedTrade]:
        with self._uow() as uow:
            trades = uow.trades.recent(limit)
            names = uow.artists.find_many(sorted({t.mbid for t in trades}))
        return [
            NamedTrade(
                t.player,
                t.mbid,
                names[t.mbid].name if t.mbid in names else t.mbid,
                t.side,
                t.price,
                t.at,
            )
            for t in trades
        ]

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

    def listed(self, after: str, limit: int) -> list[ListedArtist]:
        with self._uow() as uow:
            batch = uow.artists.page(after or None, limit)
        return [
            ListedArtist(
                a.mbid,
                a.name,
                a.price,
                a.max_shares,
                a.remaining,
                a.last_listeners,
                a.last_playcount,
            )
            for a in batch
        ]
