"""The market's tops in memory: every artist ranked under the store's mutex, one instant."""

from __future__ import annotations

import copy
from datetime import date

from datm.adapters.memory.store import InMemoryStore
from datm.ports.market_reads import ArtistMarket, ArtistRankings


class InMemoryArtistRankings(ArtistRankings):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def top_by_price(self, limit: int) -> list[ArtistMarket]:
        store = self._store
        with store.mutex:
            ranked = sorted(store.artists.values(), key=lambda a: (-a.price, a.mbid))
            return [self._market(a.mbid) for a in ranked[:limit]]

    def top_by_gain(self, since: date, limit: int) -> list[tuple[ArtistMarket, int]]:
        store = self._store
        with store.mutex:
            gains = []
            for mbid, artist in store.artists.items():
                days = store.history.get(mbid, {})
                first = min((d for d in days if d >= since), default=None)
                gain = artist.price - days[first].price if first is not None else 0
                gains.append((gain, mbid))
            gains.sort(key=lambda g: (-g[0], g[1]))
            return [(self._market(mbid), gain) for gain, mbid in gains[:limit]]

    def _market(self, mbid: str) -> ArtistMarket:
        """The artist with its latest close; call under the store's mutex."""
        days = self._store.history.get(mbid, {})
        latest = days[max(days)] if days else None
        return ArtistMarket(
            copy.deepcopy(self._store.artists[mbid]),
            latest.points if latest else 0,
            latest.dividend if latest else 0,
            False,
        )
