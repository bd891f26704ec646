"""``PylastLastfm``: the last.fm port on pylast 7, against last.fm or any server like it.

pylast does the protocol: parameters, the api_sig signature, session keys, the
POST, error documents (``WSError``). datm adds around it: its transport (TLS
trust, timeout, rate limit; see transport.py), bounded retries of transient
failures with jittered exponential back-off (tenacity), one translation of every
failure (errors.py), and the conversion of each document to datm's frozen values
(documents.py). Nothing of pylast leaves this package: no object, no exception.

Parameters are always sent explicitly (``limit`` and ``page`` too), so one question
always makes one request. Session keys live only in the calls they sign: they are
in no repr and no log line (pylast's debug log of documents is filtered).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TypeVar
from xml.dom import minidom

import pylast
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from datm.adapters.lastfm import documents
from datm.adapters.lastfm.errors import retry_logger, translate
from datm.adapters.lastfm.network import (
    DatmNetwork,
    LastfmEndpoint,
    hide_session_keys_in_pylast_logs,
)
from datm.adapters.lastfm.transport import LastfmTransport
from datm.domain.errors import (
    CapabilityError,
    InvalidInput,
    LastfmUnavailable,
    TokenRefused,
    UnknownArtist,
)
from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    LastfmSession,
    SimilarArtist,
    UserProfile,
    auth_page_url,
)
from datm.ports.lastfm import LastfmPort
from datm.ports.rate_limit import RateLimiter
from datm.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_LIMIT = 1000
BACKOFF_SECONDS = 0.5  # the first retry waits up to this long, then doubling
MAX_BACKOFF_SECONDS = 8.0


class Unlimited(RateLimiter):
    """No rate limit: every request may go at once."""

    def acquire(self) -> None:
        return None


class PylastLastfm(LastfmPort):
    """last.fm through pylast. ``retries``: how many times a transient failure is tried
    again (so at most ``retries + 1`` requests per call) before ``LastfmUnavailable``.
    Thread-safe: calls share only the immutable network and the transport's pool."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        url: str | None = None,
        ca_file: str | None = None,
        timeout_seconds: float = 10.0,
        retries: int = 4,
        rate_limiter: RateLimiter | None = None,
        backoff_seconds: float = BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        if not api_key or not api_secret:
            raise CapabilityError("last.fm", "LASTFM_API_KEY and LASTFM_API_SECRET")
        if retries < 0:
            raise InvalidInput("lastfm_retries", "must not be negative")
        if timeout_seconds <= 0:
            raise InvalidInput("lastfm_timeout_seconds", "must be positive")
        self._endpoint = LastfmEndpoint.from_url(url)
        self._transport = LastfmTransport(rate_limiter or Unlimited(), timeout_seconds, ca_file)
        self._network = DatmNetwork(api_key, api_secret, self._endpoint, self._transport)
        self._attempts = retries + 1
        self._backoff = (backoff_seconds, max_backoff_seconds)
        hide_session_keys_in_pylast_logs()

    @classmethod
    def from_settings(
        cls, settings: Settings, rate_limiter: RateLimiter | None = None
    ) -> PylastLastfm:
        """The adapter ``settings`` describe (``lastfm_*``); no IO until the first call."""
        return cls(
            settings.lastfm_api_key or "",
            settings.lastfm_api_secret or "",
            url=settings.lastfm_url,
            ca_file=settings.lastfm_ca_file,
            timeout_seconds=settings.lastfm_timeout_seconds,
            retries=settings.lastfm_retries,
            rate_limiter=rate_limiter,
        )

    def with_rate_limiter(self, rate_limiter: RateLimiter) -> PylastLastfm:
        """This client with every request admitted by ``rate_limiter`` instead: the
        same key, endpoint, timeout and retries, on the same HTTP connections
        (``close`` on either closes both). The close's share of the rate uses it."""
        twin = copy.copy(self)
        twin._transport = self._transport.with_rate_limiter(rate_limiter)
        network = self._network
        twin._network = DatmNetwork(
            str(network.api_key), str(network.api_secret), self._endpoint, twin._transport
        )
        return twin

    def __repr__(self) -> str:
        return f"PylastLastfm({self._endpoint.homepage!r}, api_key={self.api_key!r})"

    def close(self) -> None:
        """Close the pooled connections; idempotent. A later call raises
        ``ProgrammingError``: nothing reopens behind the program's back."""
        self._transport.shutdown()

    # --- auth ----------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return str(self._network.api_key)

    def auth_url(self, token: str | None = None, callback: str | None = None) -> str:
        return auth_page_url(f"{self._endpoint.homepage}/api/auth/", self.api_key, token, callback)

    def get_token(self) -> str:
        return self._call("auth.getToken", {}, documents.token, signed=True)

    def get_session(self, token: str) -> LastfmSession:
        # Retried like any call: if last.fm exchanged the token but its answer was
        # lost, the retry finds the token used (error 15) and the user logs in again.
        if not isinstance(token, str) or not token.strip():
            raise TokenRefused()
        return self._call(
            "auth.getSession", {"token": token}, documents.session, signed=True, subject="token"
        )

    def authenticated_user(self, session_key: str) -> UserProfile:
        return self._call("user.getInfo", {}, documents.user_profile, session_key=session_key)

    # --- artists -------------------------------------------------------------

    def artist_info(
        self,
        name: str | None = None,
        mbid: str | None = None,
        username: str | None = None,
        lang: str | None = None,
    ) -> ArtistInfo:
        """As the port says: by MBID when one is given, by name when last.fm knows no
        such MBID; ``lang`` asks for the biography in that language (ISO 639)."""
        name = name if name and name.strip() else ""
        mbid = mbid.strip() if mbid else ""
        if not name and not mbid:
            raise InvalidInput("artist", "give a name or an MBID")
        extra = {key: value for key, value in (("username", username), ("lang", lang)) if value}
        if mbid:
            try:
                return self._call(
                    "artist.getInfo", {"mbid": mbid, **extra}, documents.artist_info, "mbid"
                )
            except UnknownArtist:
                if not name:
                    raise
        return self._call(
            "artist.getInfo", {"artist": name, **extra}, documents.artist_info, "artist"
        )

    def correction(self, name: str) -> ArtistRef | None:
        try:
            return self._call(
                "artist.getCorrection",
                {"artist": _required("artist", name)},
                documents.correction,
                "artist",
            )
        except UnknownArtist:
            return None

    def similar(self, name: str, limit: int) -> list[SimilarArtist]:
        params = {"artist": _required("artist", name), "limit": _limit(limit)}
        return self._call("artist.getSimilar", params, documents.similar, "artist")

    def search(self, query: str, limit: int, page: int) -> list[ArtistRef]:
        params = {"artist": _required("query", query), **_paging(limit, page)}
        return self._call("artist.search", params, documents.search_results, "query")

    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        return self._call("chart.getTopArtists", _paging(limit, page), documents.chart, "page")

    def geo_top_artists(self, country: str, limit: int, page: int) -> list[ArtistRef]:
        params = {"country": _required("country", country), **_paging(limit, page)}
        return self._call("geo.getTopArtists", params, _top_artists, "country")

    def tag_top_artists(self, tag: str, limit: int, page: int) -> list[ArtistRef]:
        params = {"tag": _required("tag", tag), **_paging(limit, page)}
        return self._call("tag.getTopArtists", params, _top_artists, "tag")

    # --- users ---------------------------------------------------------------

    def user_info(self, user: str) -> UserProfile:
        params = {"user": _required("user", user)}
        return self._call("user.getInfo", params, documents.user_profile, "user")

    def user_top_artists(self, user: str, limit: int) -> list[ArtistRef]:
        params = {"user": _required("user", user), "period": "overall", "limit": _limit(limit)}
        return self._call("user.getTopArtists", params, _top_artists, "user")

    def library_artists(self, user: str, limit: int) -> list[ArtistRef]:
        params = {"user": _required("user", user), **_paging(limit, 1)}
        return self._call("library.getArtists", params, _library, "user")

    # --- the chokepoint --------------------------------------------------------

    def _call(
        self,
        method: str,
        params: dict[str, str],
        parse: Callable[[minidom.Document], T],
        subject: str = "",
        *,
        signed: bool = False,
        session_key: str | None = None,
    ) -> T:
        """One last.fm call, parsed; transient failures tried again with back-off."""
        first, most = self._backoff
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_random_exponential(multiplier=first, max=most),
            retry=retry_if_exception_type(LastfmUnavailable),
            before_sleep=retry_logger(logger, method, self._attempts),
            reraise=True,
        )
        about = (subject, params.get(subject, "")) if subject else ("request", method)

        def attempt() -> T:
            return self._once(method, params, parse, about, signed, session_key)

        return retrying(attempt)

    def _once(
        self,
        method: str,
        params: dict[str, str],
        parse: Callable[[minidom.Document], T],
        about: tuple[str, str],
        signed: bool,
        session_key: str | None,
    ) -> T:
        network = self._network if session_key is None else self._network.with_session(session_key)
        try:
            request = pylast._Request(network, method, params)
            if signed:
                request.sign_it()
            return parse(request.execute())
        except Exception as error:  # the one place pylast's, httpx's and XML errors end
            raise translate(error, about) from error


def _top_artists(doc: minidom.Document) -> list[ArtistRef]:
    return documents.artist_list(doc, "topartists")


def _library(doc: minidom.Document) -> list[ArtistRef]:
    return documents.artist_list(doc, "artists")


def _required(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must not be empty")
    return value


def _limit(limit: int) -> str:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    return str(limit)


def _paging(limit: int, page: int) -> dict[str, str]:
    if page < 1:
        raise InvalidInput("page", "counts from 1")
    return {"limit": _limit(limit), "page": str(page)}
