"""Top by gain in memory: every artist ranked under the store's mutex, one instant."""

from __future__ import annotations

import copy
from datetime import date

from datm.adapters.memory.store import InMemoryStore
from datm.ports.market_reads import ArtistMarket, GainRanking


class InMemoryGainRanking(GainRanking):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

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
            ranked = []
            for gain, mbid in gains[:limit]:
                days = store.history.get(mbid, {})
                latest = days[max(days)] if days else None
                market = ArtistMarket(
                    copy.deepcopy(store.artists[mbid]),
                    latest.points if latest else 0,
                    latest.dividend if latest else 0,
                    False,
                )
                ranked.append((market, gain))
            return ranked
