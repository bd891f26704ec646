"""pylast's network, pointed at last.fm or at another endpoint, with datm's transport.

pylast 7 finds the web service through its network's ``ws_server`` (host and
path; it always speaks HTTPS) and builds the page users authorise on from its
``homepage``. ``LastfmEndpoint`` derives both from ``lastfm_url``: last.fm itself
when unset, else the given server (the fake's ``/api/auth/`` page lives beside
its ``/2.0/``).
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pylast

from datm.adapters.lastfm.transport import LastfmTransport
from datm.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LastfmEndpoint:
    host: str  # host[:port] of the web service
    path: str  # the web service's path, "/2.0/"
    homepage: str  # where a user allows the game: {homepage}/api/auth/

    @classmethod
    def from_url(cls, url: str | None) -> LastfmEndpoint:
        if not url:
            return LASTFM
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise InvalidInput("lastfm_url", f"{url!r} is not an https:// URL (pylast needs TLS)")
        return cls(parts.netloc, parts.path or "/2.0/", f"https://{parts.netloc}")


LASTFM = LastfmEndpoint("ws.audioscrobbler.com", "/2.0/", "https://www.last.fm")


class DatmNetwork(pylast._Network):
    """A pylast network on ``endpoint`` whose every request goes through ``transport``.
    Its repr names neither the secret nor a session key."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        endpoint: LastfmEndpoint,
        transport: LastfmTransport,
    ) -> None:
        site = endpoint.homepage.removeprefix("https://")
        super().__init__(
            name="Last.fm",
            homepage=endpoint.homepage,
            ws_server=(endpoint.host, endpoint.path),
            api_key=api_key,
            api_secret=api_secret,
            session_key="",
            username="",
            password_hash="",
            domain_names={pylast.DOMAIN_ENGLISH: site},
            urls={"artist": "music/%(artist)s", "user": "user/%(name)s"},
            proxy={"https://": transport},  # pylast mounts non-string entries as given
        )

    def with_session(self, session_key: str) -> DatmNetwork:
        """The same network signing its calls with a user's session key."""
        signed = copy.copy(self)
        signed.session_key = session_key
        return signed

    def __repr__(self) -> str:
        return f"DatmNetwork({self.homepage!r}, api_key={self.api_key!r})"


class HideSessionKeys(logging.Filter):
    """pylast logs whole response documents at DEBUG; auth.getSession's holds the
    session key. This filter, on pylast's logger, blanks ``<key>`` elements."""

    KEY = re.compile(r"<key>[^<]*</key>")

    def filter(self, record: logging.LogRecord) -> bool:
        # pylast passes the document as the message itself, without arguments.
        if isinstance(record.msg, str) and "<key>" in record.msg:
            record.msg = self.KEY.sub("<key>(hidden)</key>", record.msg)
        return True


def hide_session_keys_in_pylast_logs() -> None:
    """Install ``HideSessionKeys`` on pylast's logger, once."""
    logger = logging.getLogger("pylast")
    if not any(isinstance(existing, HideSessionKeys) for existing in logger.filters):
        logger.addFilter(HideSessionKeys())
