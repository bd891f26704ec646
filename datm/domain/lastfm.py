"""What datm knows of last.fm, as plain values (never a pylast object or XML)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class Image:
    size: str
    url: str


@dataclass(frozen=True, slots=True)
class ArtistRef:
    """An artist as last.fm names it; ``mbid`` is '' where last.fm has none."""

    name: str
    mbid: str
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, slots=True)
class ChartArtist:
    name: str
    mbid: str
    listeners: int
    playcount: int
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, slots=True)
class SimilarArtist:
    name: str
    mbid: str
    match: float


@dataclass(frozen=True, slots=True)
class ArtistInfo:
    name: str
    mbid: str
    listeners: int
    playcount: int
    url: str = ""
    images: tuple[Image, ...] = ()
    tags: tuple[str, ...] = ()
    similar: tuple[ArtistRef, ...] = ()
    bio_summary: str = ""
    bio_content: str = ""
    streamable: bool = False


@dataclass(frozen=True, slots=True)
class UserProfile:
    name: str
    real_name: str = ""
    url: str = ""
    country: str = ""
    playcount: int = 0
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, slots=True)
class LastfmSession:
    """A last.fm login: the user and the session key for signed calls (never logged)."""

    user: str
    key: str

    def __repr__(self) -> str:
        return f"LastfmSession(user={self.user!r}, key=<hidden>)"


def auth_page_url(page: str, api_key: str, token: str | None, callback: str | None) -> str:
    """last.fm's page where a user allows the game: for ``token`` (desktop flow) or
    sending the user back to ``callback`` with a token (web flow)."""
    query = {"api_key": api_key}
    if token is not None:
        query["token"] = token
    if callback is not None:
        query["cb"] = callback
    return f"{page}?{urlencode(query)}"
