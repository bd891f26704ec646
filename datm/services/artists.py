"""Artist pages from last.fm alone: safe in the web's wiring, which has no database."""

from __future__ import annotations

from injector import inject

from datm.domain.lastfm import ArtistRef, ChartArtist, UserProfile
from datm.ports.lastfm import LastfmPort
from datm.services.artist_resolution import ArtistResolver, check_ref, looks_like_mbid
from datm.services.checks import check_count, check_text
from datm.services.results import ArtistBasic, ArtistLastfmData, ArtistLight


class ArtistService:
    @inject
    def __init__(self, lastfm: LastfmPort, resolver: ArtistResolver) -> None:
        self._lastfm = lastfm
        self._resolver = resolver

    def basic(self, artist: str) -> ArtistBasic:
        """MBID, name and images of an artist named by MBID or name."""
        ref = self._resolver.resolve(artist)
        images = ref.images or self._lastfm.artist_info(mbid=ref.mbid).images
        return ArtistBasic(ref.mbid, ref.name, images)

    def light(self, artist: str) -> ArtistLight:
        """MBID and name only."""
        ref = self._resolver.resolve(artist)
        return ArtistLight(ref.mbid, ref.name)

    def lastfm_data(self, artist: str) -> ArtistLastfmData:
        """Listeners, plays, tags, similar artists, bio and streamable."""
        artist = check_ref(artist)
        if looks_like_mbid(artist):
            info = self._lastfm.artist_info(mbid=artist.lower())
        else:
            info = self._lastfm.artist_info(name=self._resolver.resolve(artist).name)
        return ArtistLastfmData(
            mbid=info.mbid,
            name=info.name,
            listeners=info.listeners,
            playcount=info.playcount,
            tags=info.tags,
            similar=info.similar,
            bio_summary=info.bio_summary,
            bio_content=info.bio_content,
            streamable=info.streamable,
            url=info.url,
            images=info.images,
        )

    def search(self, query: str, limit: int = 10, page: int = 1) -> list[ArtistRef]:
        """Artists matching a partial name, most relevant first (some lack an MBID)."""
        return self._lastfm.search(
            check_text("query", query), check_count("limit", limit), check_count("page", page)
        )

    def similar(self, artist: str, limit: int = 10) -> list[ArtistRef]:
        limit = check_count("limit", limit)
        name = self._resolver.resolve(artist).name
        found = self._lastfm.similar(name, limit)
        return [ArtistRef(s.name, s.mbid) for s in found]

    def chart(self, limit: int = 10, page: int = 1) -> list[ChartArtist]:
        """last.fm's global chart."""
        return self._lastfm.chart_top_artists(
            check_count("limit", limit), check_count("page", page)
        )

    def country_chart(self, country: str, limit: int = 10, page: int = 1) -> list[ArtistRef]:
        return self._lastfm.geo_top_artists(
            check_text("country", country), check_count("limit", limit), check_count("page", page)
        )

    def tag_chart(self, tag: str, limit: int = 10, page: int = 1) -> list[ArtistRef]:
        return self._lastfm.tag_top_artists(
            check_text("tag", tag), check_count("limit", limit), check_count("page", page)
        )

    def user_profile(self, user: str) -> UserProfile:
        """A user's public last.fm profile and images."""
        return self._lastfm.user_info(check_text("user", user))
