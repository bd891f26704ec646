"""Listed artists in memory: copies out, row locks for update, written back at commit."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from datm.adapters.memory.transaction import Transaction
from datm.domain.artist import Artist
from datm.domain.errors import Conflict, UnknownArtist
from datm.ports.repositories import ArtistRepository


def _key(mbid: str) -> tuple[str, str]:
    return ("artist", mbid)


class InMemoryArtistRepository(ArtistRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _view(self) -> dict[str, Artist]:
        """Committed artists with this transaction's laid over; call under the
        store mutex and copy anything handed out."""
        return {**self._tx.store.artists, **self._tx.pending.artists}

    def find(self, mbid: str) -> Artist | None:
        with self._tx.committed() as store:
            artist = self._tx.pending.artists.get(mbid, store.artists.get(mbid))
            return copy.deepcopy(artist) if artist is not None else None

    def get(self, mbid: str) -> Artist:
        artist = self.find(mbid)
        if artist is None:
            raise UnknownArtist(mbid)
        return artist

    def get_for_update(self, mbid: str) -> Artist:
        p = self._tx.pending
        newly_locked = self._tx.lock(_key(mbid))
        if mbid in p.artists:
            return p.artists[mbid]  # one tracked object per row, like an identity map
        with self._tx.committed() as store:
            committed = store.artists.get(mbid)
            artist = copy.deepcopy(committed) if committed is not None else None
        if artist is None:
            if newly_locked:
                self._tx.unlock(_key(mbid))
            raise UnknownArtist(mbid)
        p.artists[mbid] = artist
        return artist

    def find_many(self, mbids: Sequence[str]) -> dict[str, Artist]:
        with self._tx.committed():
            view = self._view()
            return {m: copy.deepcopy(view[m]) for m in mbids if m in view}

    def add(self, artist: Artist) -> None:
        p = self._tx.pending
        self._tx.lock(_key(artist.mbid))
        with self._tx.committed() as store:
            if artist.mbid in p.artists or artist.mbid in store.artists:
                raise Conflict(f"artist {artist.mbid!r} is already listed")
        p.new_artists.add(artist.mbid)
        p.artists[artist.mbid] = artist

    def count(self) -> int:
        with self._tx.committed() as store:
            return len(store.artists) + len(self._tx.pending.new_artists)

    def page(self, after: str | None, limit: int) -> list[Artist]:
        with self._tx.committed():
            view = self._view()
            mbids = sorted(m for m in view if after is None or m > after)[:limit]
            return [copy.deepcopy(view[m]) for m in mbids]
