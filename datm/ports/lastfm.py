from __future__ import annotations

from abc import ABC, abstractmethod

from datm.domain.errors import CapabilityError
from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    LastfmSession,
    SimilarArtist,
    UserProfile,
)


class LastfmPort(ABC):
    """Everything datm asks of last.fm. Errors: ``UnknownArtist``/``InvalidInput``
    (data), ``TokenRefused``/``LastfmSessionRefused`` (authentication),
    ``ServiceError`` (bad key),
    ``LastfmUnavailable`` (transient). Never called while a unit of work is open."""

    @property
    @abstractmethod
    def api_key(self) -> str:
        """The public API key of the game (safe to show)."""

    def fresh(self) -> LastfmPort:
        """This port past every cache, for numbers that must be current: the daily
        close refreshes every artist from last.fm itself (anti-cheating). Its
        requests are held within the close's share of the rate limit
        (``CLOSE_LASTFM_SHARE``), and to the rate shared with the api; a backend
        without requests or limits (the offline catalogue) returns itself."""
        return self

    @abstractmethod
    def auth_url(self, token: str | None = None, callback: str | None = None) -> str:
        """The page that lets a user allow the game: for ``token`` (desktop flow) or
        redirecting to ``callback`` with a token (web flow)."""

    @abstractmethod
    def get_token(self) -> str:
        """A fresh, unauthorised request token (auth.getToken)."""

    @abstractmethod
    def get_session(self, token: str) -> LastfmSession:
        """Exchange an authorised token for a session; ``TokenRefused`` otherwise."""

    @abstractmethod
    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        """Current numbers and details of one artist, by MBID or by name."""

    @abstractmethod
    def correction(self, name: str) -> ArtistRef | None:
        """last.fm's corrected name (and MBID) for a possibly misspelt name."""

    @abstractmethod
    def similar(self, name: str, limit: int) -> list[SimilarArtist]:
        """Artists similar to ``name``, best match first."""

    @abstractmethod
    def search(self, query: str, limit: int, page: int) -> list[ArtistRef]:
        """Artists whose names match ``query``, most relevant first; page counts from 1."""

    @abstractmethod
    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        """last.fm's global chart, most listened first."""

    @abstractmethod
    def geo_top_artists(self, country: str, limit: int, page: int) -> list[ArtistRef]:
        """The chart of one country."""

    @abstractmethod
    def tag_top_artists(self, tag: str, limit: int, page: int) -> list[ArtistRef]:
        """The top artists of one tag."""

    @abstractmethod
    def user_info(self, user: str) -> UserProfile:
        """A user's public last.fm profile."""

    def authenticated_user(self, session_key: str) -> UserProfile:
        """The profile of the user whose last.fm session key this is (a call signed
        with it); ``LastfmSessionRefused`` when last.fm no longer accepts the key.

        Not abstract, so that wrappers written before it (the cache) still build;
        a backend without signed calls says so with ``CapabilityError``."""
        raise CapabilityError("last.fm calls signed with a user's session", "LASTFM_API_SECRET")

    @abstractmethod
    def user_top_artists(self, user: str, limit: int) -> list[ArtistRef]:
        """The user's most played artists (all time)."""

    @abstractmethod
    def library_artists(self, user: str, limit: int) -> list[ArtistRef]:
        """Artists in the user's library."""
