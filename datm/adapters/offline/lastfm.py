"""``OfflineLastfm``: last.fm without a network, for the demo and the tests.

Artists come from the offline catalogue (catalogue.py, recorded from last.fm's chart); their
listeners and playcount are simulated for the clock's UTC day (formula in catalogue.py).
Everything else is derived deterministically from the catalogue and SHA-256:

- ``similar``: the catalogue artists with the closest audience, ``match`` = the ratio of the
  smaller to the larger recorded listener count (+1 each), so in (0, 1] and decreasing.
- ``geo_top_artists``: the catalogue in chart order, rotated by SHA-256 of the country.
- ``tag_top_artists``: the artists carrying the tag, else the chart rotated by the tag's hash.
- users: profile, top artists and library are picks ordered by SHA-256 of the user name,
  artists with an MBID first; different users get different picks.

The login flow is last.fm's: ``get_token`` issues a token, the user authorises it in the
browser (here ``authorise``), ``get_session`` exchanges it once for a session key.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import TypeVar
from urllib.parse import quote_plus

from datm.adapters.offline.catalogue import (
    Catalogue,
    CatalogueArtist,
    Simulation,
    load_catalogue,
)
from datm.domain.errors import InvalidInput, LastfmSessionRefused, TokenRefused, UnknownArtist
from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    LastfmSession,
    SimilarArtist,
    UserProfile,
    auth_page_url,
)
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort

MAX_LIMIT = 1000
SIMILAR_IN_INFO = 5
AUTH_URL = "offline://last.fm/api/auth/"

T = TypeVar("T")


class OfflineLastfm(LastfmPort):
    """A shipped last.fm backend that needs no network and no API key."""

    def __init__(
        self, clock: Clock, api_key: str = "offline", catalogue: Catalogue | None = None
    ) -> None:
        self._clock = clock
        self._api_key = api_key
        self._catalogue = catalogue if catalogue is not None else load_catalogue()
        self._simulation = Simulation(self._catalogue)
        self._lock = threading.Lock()
        self._tokens: dict[str, str | None] = {}  # issued token -> authorising user
        self._sessions: dict[str, str] = {}  # issued session key -> its user

    # --- auth ----------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._api_key

    def auth_url(self, token: str | None = None, callback: str | None = None) -> str:
        return auth_page_url(AUTH_URL, self._api_key, token, callback)

    def get_token(self) -> str:
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = None
        return token

    def authorise(self, token: str, user: str) -> None:
        """What the user's browser does on last.fm: allow the game for ``token``.

        ``TokenRefused`` if the token was never issued, was already exchanged, or was
        authorised by another user; ``InvalidInput`` for a blank user name.
        """
        user = _require_user(user)
        with self._lock:
            if token not in self._tokens or self._tokens[token] not in (None, user):
                raise TokenRefused()
            self._tokens[token] = user

    def get_session(self, token: str) -> LastfmSession:
        with self._lock:
            user = self._tokens.get(token)
            if user is None:  # never issued, already used, or not yet authorised
                raise TokenRefused()
            del self._tokens[token]
            key = secrets.token_hex(16)
            self._sessions[key] = user
        return LastfmSession(user=user, key=key)

    # --- artists -------------------------------------------------------------

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        artist = self._find(name, mbid)
        listeners, playcount = self._numbers(artist)
        return ArtistInfo(
            name=artist.name,
            mbid=artist.mbid,
            listeners=listeners,
            playcount=playcount,
            url=artist.url or f"https://www.last.fm/music/{quote_plus(artist.name)}",
            images=artist.images,
            tags=artist.tags,
            similar=tuple(_ref(other) for other, _ in self._neighbours(artist)[:SIMILAR_IN_INFO]),
            bio_summary=artist.bio_summary,
            bio_content=artist.bio_content,
            streamable=False,
        )

    def correction(self, name: str) -> ArtistRef | None:
        artist = self._catalogue.by_name(name)
        return None if artist is None else _ref(artist)

    def similar(self, name: str, limit: int) -> list[SimilarArtist]:
        _check_paging(limit, 1)
        artist = self._find(name, None)
        return [
            SimilarArtist(name=other.name, mbid=other.mbid, match=match)
            for other, match in self._neighbours(artist)[:limit]
        ]

    def search(self, query: str, limit: int, page: int) -> list[ArtistRef]:
        _check_paging(limit, page)
        needle = query.strip().casefold()
        if not needle:
            raise InvalidInput("query", "must not be empty")

        def relevance(artist: CatalogueArtist) -> tuple[int, int, str]:
            folded = artist.name.casefold()
            closeness = 0 if folded == needle else 1 if folded.startswith(needle) else 2
            return closeness, -self._numbers(artist)[0], folded

        found = [a for a in self._catalogue.artists if needle in a.name.casefold()]
        return [_ref(a) for a in _page(sorted(found, key=relevance), limit, page)]

    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        _check_paging(limit, page)
        today = [(artist, *self._numbers(artist)) for artist in self._catalogue.artists]
        today.sort(key=lambda row: (-row[1], row[0].name.casefold()))
        return [
            ChartArtist(
                name=artist.name,
                mbid=artist.mbid,
                listeners=listeners,
                playcount=playcount,
                images=artist.images,
            )
            for artist, listeners, playcount in _page(today, limit, page)
        ]

    def geo_top_artists(self, country: str, limit: int, page: int) -> list[ArtistRef]:
        _check_paging(limit, page)
        country = _require("country", country)
        rotated = _rotate(list(self._catalogue.artists), f"geo:{country.casefold()}")
        return [_ref(a) for a in _page(rotated, limit, page)]

    def tag_top_artists(self, tag: str, limit: int, page: int) -> list[ArtistRef]:
        _check_paging(limit, page)
        tag = _require("tag", tag).casefold()
        tagged = [a for a in self._catalogue.artists if tag in (t.casefold() for t in a.tags)]
        if tagged:
            tagged.sort(key=lambda a: (-self._numbers(a)[0], a.name.casefold()))
        else:
            tagged = _rotate(list(self._catalogue.artists), f"tag:{tag}")
        return [_ref(a) for a in _page(tagged, limit, page)]

    # --- users ---------------------------------------------------------------

    def user_info(self, user: str) -> UserProfile:
        user = _require_user(user)
        return UserProfile(
            name=user,
            url=f"https://www.last.fm/user/{quote_plus(user)}",
            playcount=1_000 + _hash(f"user:{user.casefold()}") % 200_000,
        )

    def authenticated_user(self, session_key: str) -> UserProfile:
        """The profile of a session this adapter issued (sessions live as long as it)."""
        with self._lock:
            user = self._sessions.get(session_key)
        if user is None:
            raise LastfmSessionRefused()
        return self.user_info(user)

    def user_top_artists(self, user: str, limit: int) -> list[ArtistRef]:
        return self._user_picks(user, limit, "top")

    def library_artists(self, user: str, limit: int) -> list[ArtistRef]:
        return self._user_picks(user, limit, "library")

    # --- internals -----------------------------------------------------------

    def _find(self, name: str | None, mbid: str | None) -> CatalogueArtist:
        name = name.strip() if name else ""
        mbid = mbid.strip() if mbid else ""
        if not name and not mbid:
            raise InvalidInput("artist", "give a name or an MBID")
        artist = self._catalogue.by_mbid(mbid) if mbid else None
        if artist is None and name:
            artist = self._catalogue.by_name(name)
        if artist is None:
            raise UnknownArtist(name or mbid)
        return artist

    def _numbers(self, artist: CatalogueArtist) -> tuple[int, int]:
        return self._simulation.numbers(artist, self._clock.today())

    def _neighbours(self, artist: CatalogueArtist) -> list[tuple[CatalogueArtist, float]]:
        """Other artists by closeness of recorded audience, with their match in (0, 1]."""
        scored = [
            (other, _ratio(artist.listeners, other.listeners))
            for other in self._catalogue.artists
            if other is not artist
        ]
        scored.sort(key=lambda pair: (-pair[1], pair[0].name.casefold()))
        return scored

    def _user_picks(self, user: str, limit: int, salt: str) -> list[ArtistRef]:
        _check_paging(limit, 1)
        seed = f"{salt}:{_require_user(user).casefold()}"
        picks = sorted(
            self._catalogue.artists, key=lambda a: (not a.mbid, _hash(f"{seed}:{a.key}"))
        )
        return [_ref(a) for a in picks[:limit]]


def _ref(artist: CatalogueArtist) -> ArtistRef:
    return ArtistRef(name=artist.name, mbid=artist.mbid, images=artist.images)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _ratio(a: int, b: int) -> float:
    return (min(a, b) + 1) / (max(a, b) + 1)


def _rotate(artists: list[CatalogueArtist], seed: str) -> list[CatalogueArtist]:
    if not artists:
        return artists
    shift = _hash(seed) % len(artists)
    return artists[shift:] + artists[:shift]


def _page(items: list[T], limit: int, page: int) -> list[T]:
    return items[(page - 1) * limit : page * limit]


def _check_paging(limit: int, page: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    if page < 1:
        raise InvalidInput("page", "counts from 1")


def _require(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(field, "must not be empty")
    return value


def _require_user(user: str) -> str:
    return _require("user", user)
