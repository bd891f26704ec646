"""A player's profile read from the in-memory store, under its mutex: one instant."""

from __future__ import annotations

import copy
from itertools import islice

from datm.adapters.memory.store import InMemoryStore
from datm.domain.errors import UnknownPlayer
from datm.ports.player_reads import HeldArtist, PlayerReads, PlayerRecord, PlayerTrade


class InMemoryPlayerReads(PlayerReads):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def profile(self, name: str, trades: int) -> PlayerRecord:
        store = self._store
        with store.mutex:
            found = store.players.get(name)
            if found is None:
                raise UnknownPlayer(name)
            player = copy.deepcopy(found)
            held = {}
            for mbid in sorted(player.holdings):
                artist = store.artists.get(mbid)
                if artist is None:
                    continue
                days = store.history.get(mbid, {})
                latest = days[max(days)] if days else None
                held[mbid] = HeldArtist(
                    copy.deepcopy(artist),
                    latest.points if latest else 0,
                    latest.dividend if latest else 0,
                )
            own = (t for t in reversed(store.trades) if t.player == name)
            newest = [
                PlayerTrade(
                    t.mbid,
                    store.artists[t.mbid].name if t.mbid in store.artists else t.mbid,
                    t.side,
                    t.price,
                    t.at,
                )
                for t in islice(own, trades)
            ]
            paying = [r.day for r in store.closes.values() if r.paid_from is not None or r.finished]
        return PlayerRecord(player, max(paying, default=None), held, tuple(newest))
