"""Naming an artist by MBID or by name, and listing it on demand."""

from __future__ import annotations

import re

from injector import inject

from datm.domain.artist import Artist, check_mbid
from datm.domain.errors import UnknownArtist
from datm.domain.lastfm import ArtistRef
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.checks import check_text
from datm.services.retry import retry_on_conflict

_MBID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_NAME_LENGTH = 512


def looks_like_mbid(ref: str) -> bool:
    return bool(_MBID_SHAPE.match(ref.strip()))


def check_ref(ref: object, field: str = "artist") -> str:
    """An artist named by MBID or name: 1 to 512 characters, carriable; stripped."""
    return check_text(field, ref, MAX_NAME_LENGTH)


class ArtistResolver:
    """MBID and name of an artist named either way; a name is corrected first."""

    @inject
    def __init__(self, lastfm: LastfmPort) -> None:
        self._lastfm = lastfm

    def resolve(self, ref: str) -> ArtistRef:
        ref = check_ref(ref)
        if looks_like_mbid(ref):
            info = self._lastfm.artist_info(mbid=ref.lower())
            return ArtistRef(info.name, check_mbid(info.mbid or ref, info.name), info.images)
        corrected = self._lastfm.correction(ref)
        name = corrected.name if corrected is not None else ref
        if corrected is not None and corrected.mbid:
            return ArtistRef(name, check_mbid(corrected.mbid, name), corrected.images)
        info = self._lastfm.artist_info(name=name)
        return ArtistRef(info.name, check_mbid(info.mbid, info.name), info.images)


class ArtistLister:
    """The listed artist for a reference, listing it from last.fm on first demand."""

    @inject
    def __init__(
        self, uow: UnitOfWorkFactory, lastfm: LastfmPort, resolver: ArtistResolver, clock: Clock
    ) -> None:
        self._uow = uow
        self._lastfm = lastfm
        self._resolver = resolver
        self._clock = clock

    def mbid_of(self, ref: str) -> str:
        """The MBID, without asking last.fm when it is given or already listed by name."""
        ref = check_ref(ref)
        if looks_like_mbid(ref):
            return ref.lower()
        return self._resolver.resolve(ref).mbid

    def ensure_listed(self, ref: str) -> Artist:
        ref = check_ref(ref)
        if looks_like_mbid(ref):
            with self._uow() as uow:
                listed = uow.artists.find(ref.lower())
            if listed is not None:
                return listed
        resolved = self._resolver.resolve(ref)
        with self._uow() as uow:
            listed = uow.artists.find(resolved.mbid)
        if listed is not None:
            return listed
        # Network calls happen here, with no unit of work open. A name was just
        # looked up by name (and cached): its numbers are the same artist's.
        if looks_like_mbid(ref):
            info = self._lastfm.artist_info(mbid=resolved.mbid)
        else:
            info = self._lastfm.artist_info(name=resolved.name)
        chart = self._lastfm.chart_top_artists(1, 1)
        top_listeners = chart[0].listeners if chart else 0
        return self._list(
            resolved.mbid, info.name or resolved.name, info.listeners, info.playcount, top_listeners
        )

    @retry_on_conflict()
    def _list(self, mbid: str, name: str, listeners: int, playcount: int, top: int) -> Artist:
        with self._uow() as uow:
            listed = uow.artists.find(mbid)
            if listed is not None:
                return listed
            artist, first_point = Artist.list(
                mbid, name, listeners, playcount, uow.players.count(), top, self._clock.today()
            )
            uow.artists.add(artist)
            uow.history.put(first_point)
            uow.commit()
        return artist

    def listed(self, mbid: str) -> Artist:
        """The listed artist with this MBID (as stored); ``UnknownArtist`` if none."""
        mbid = check_ref(mbid, "mbid")
        with self._uow() as uow:
            artist = uow.artists.find(mbid)
        if artist is None:
            raise UnknownArtist(mbid)
        return artist
