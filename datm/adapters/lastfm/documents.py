"""last.fm's XML documents (as pylast parses them, minidom) turned into datm's values.

Rules, the same for every document: text is stripped of surrounding white space,
except artist and user names, which are last.fm's keys and kept exactly; a missing
element reads as "" (or 0 for a number); an MBID last.fm does not have is "".
Images keep only those with a size and a URL. Elements are looked up among
direct children, never deeper: an artist's ``<name>`` is not its first similar
artist's.
"""

from __future__ import annotations

from xml.dom import minidom
from xml.dom.minidom import Element

from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    Image,
    LastfmSession,
    SimilarArtist,
    UserProfile,
)


class UnexpectedDocument(ValueError):
    """A document that says "ok" but lacks what the call returns."""


def artist_info(doc: minidom.Document) -> ArtistInfo:
    artist = _required(_root(doc), "artist")
    stats = _child(artist, "stats")
    bio = _child(artist, "bio")
    return ArtistInfo(
        name=_name(artist),
        mbid=_text(artist, "mbid"),
        listeners=_int(stats, "listeners"),
        playcount=_int(stats, "playcount"),
        url=_text(artist, "url"),
        images=_images(artist),
        tags=tuple(_text(tag, "name") for tag in _children(_child(artist, "tags"), "tag")),
        similar=tuple(_ref(other) for other in _children(_child(artist, "similar"), "artist")),
        bio_summary=_text(bio, "summary"),
        bio_content=_text(bio, "content"),
        streamable=_text(artist, "streamable") == "1",
    )


def correction(doc: minidom.Document) -> ArtistRef | None:
    corrections = _required(_root(doc), "corrections")
    for entry in _children(corrections, "correction"):
        artist = _child(entry, "artist")
        if artist is not None:
            return _ref(artist)
    return None


def similar(doc: minidom.Document) -> list[SimilarArtist]:
    return [
        SimilarArtist(name=_name(node), mbid=_text(node, "mbid"), match=_float(node, "match"))
        for node in _children(_required(_root(doc), "similarartists"), "artist")
    ]


def search_results(doc: minidom.Document) -> list[ArtistRef]:
    matches = _required(_required(_root(doc), "results"), "artistmatches")
    return [_ref(node) for node in _children(matches, "artist")]


def chart(doc: minidom.Document) -> list[ChartArtist]:
    return [
        ChartArtist(
            name=_name(node),
            mbid=_text(node, "mbid"),
            listeners=_int(node, "listeners"),
            playcount=_int(node, "playcount"),
            images=_images(node),
        )
        for node in _children(_required(_root(doc), "artists"), "artist")
    ]


def artist_list(doc: minidom.Document, container: str) -> list[ArtistRef]:
    """The artists of a list document: ``topartists`` (geo, tag, user) or ``artists``
    (library)."""
    return [_ref(node) for node in _children(_required(_root(doc), container), "artist")]


def user_profile(doc: minidom.Document) -> UserProfile:
    user = _required(_root(doc), "user")
    return UserProfile(
        name=_name(user),
        real_name=_text(user, "realname"),
        url=_text(user, "url"),
        country=_text(user, "country"),
        playcount=_int(user, "playcount"),
        images=_images(user),
    )


def token(doc: minidom.Document) -> str:
    found = _text(_root(doc), "token")
    if not found:
        raise UnexpectedDocument("auth.getToken sent no token")
    return found


def session(doc: minidom.Document) -> LastfmSession:
    node = _required(_root(doc), "session")
    user, key = _name(node), _text(node, "key")
    if not user or not key:
        raise UnexpectedDocument("auth.getSession sent no user or no key")
    return LastfmSession(user=user, key=key)


# --- reading elements ------------------------------------------------------------


def _root(doc: minidom.Document) -> Element:
    root = doc.documentElement
    if root is None or root.tagName != "lfm":
        raise UnexpectedDocument("not a last.fm document")
    return root


def _children(node: Element | None, tag: str) -> list[Element]:
    if node is None:
        return []
    return [
        child for child in node.childNodes if isinstance(child, Element) and child.tagName == tag
    ]


def _child(node: Element | None, tag: str) -> Element | None:
    found = _children(node, tag)
    return found[0] if found else None


def _required(node: Element, tag: str) -> Element:
    found = _child(node, tag)
    if found is None:
        raise UnexpectedDocument(f"no <{tag}> in <{node.tagName}>")
    return found


def _content(node: Element | None) -> str:
    if node is None:
        return ""
    return "".join(
        child.data
        for child in node.childNodes
        if isinstance(child, minidom.Text)  # CDATASection is a Text too
    )


def _text(node: Element | None, tag: str) -> str:
    return _content(_child(node, tag)).strip()


def _name(node: Element) -> str:
    return _content(_child(node, "name"))


def _int(node: Element | None, tag: str) -> int:
    text = _text(node, tag)
    return int(text) if text else 0


def _float(node: Element | None, tag: str) -> float:
    text = _text(node, tag)
    return float(text) if text else 0.0


def _images(node: Element) -> tuple[Image, ...]:
    return tuple(
        Image(size=image.getAttribute("size"), url=url)
        for image in _children(node, "image")
        if image.getAttribute("size") and (url := _content(image).strip())
    )


def _ref(node: Element) -> ArtistRef:
    return ArtistRef(name=_name(node), mbid=_text(node, "mbid"), images=_images(node))
