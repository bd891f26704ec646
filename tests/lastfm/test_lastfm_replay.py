"""Every recording replayed through the real adapter yields the values in its XML.

Each recording is served alone by a fake of its own; the expected values are read
from the recorded document with ElementTree, field by field, under the adapter's
documented rules (names exact, other text stripped, images with a size and a URL).
"""

from __future__ import annotations

import shutil
import threading
import unicodedata
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lastfm_support import CountingLimiter, adapter_for
from recorded_lastfm import RECORDINGS, cassette_names, documents, images, number, text

from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.domain.errors import TokenRefused
from datm.domain.lastfm import ArtistInfo, ArtistRef, ChartArtist, SimilarArtist, UserProfile
from datm.fake_lastfm import FakeLastfm

Call = Callable[[PylastLastfm, FakeLastfm], Any]
Check = Callable[[Any, ET.Element], None]


def check_artist_info(info: ArtistInfo, root: ET.Element) -> None:
    artist = root.find("artist")
    assert artist is not None
    assert info.name == artist.findtext("name")
    assert info.mbid == text(artist, "mbid")
    assert info.url == text(artist, "url")
    assert info.listeners == number(artist, "stats/listeners")
    assert info.playcount == number(artist, "stats/playcount")
    assert info.images == images(artist)
    assert info.tags == tuple(text(tag, "name") for tag in artist.iterfind("tags/tag"))
    assert info.similar == tuple(refs(artist.iterfind("similar/artist")))
    assert info.bio_summary == text(artist, "bio/summary")
    assert info.bio_content == text(artist, "bio/content")
    assert info.streamable == (text(artist, "streamable") == "1")


def refs(nodes: Iterator[ET.Element]) -> Iterator[ArtistRef]:
    for node in nodes:
        yield ArtistRef(
            name=node.findtext("name") or "", mbid=text(node, "mbid"), images=images(node)
        )


def check_refs(path: str) -> Check:
    def check(found: list[ArtistRef], root: ET.Element) -> None:
        expected = list(refs(root.iterfind(path)))
        assert len(found) == len(expected) > 0
        for actual, wanted in zip(found, expected, strict=True):
            assert actual.name == wanted.name
            assert actual.mbid == wanted.mbid
            assert actual.images == wanted.images

    return check


def check_chart(found: list[ChartArtist], root: ET.Element) -> None:
    nodes = root.findall("artists/artist")
    assert len(found) == len(nodes) > 0
    for actual, node in zip(found, nodes, strict=True):
        assert actual.name == node.findtext("name")
        assert actual.mbid == text(node, "mbid")
        assert actual.listeners == number(node, "listeners")
        assert actual.playcount == number(node, "playcount")
        assert actual.images == images(node)


def check_similar(found: list[SimilarArtist], root: ET.Element) -> None:
    nodes = root.findall("similarartists/artist")
    assert len(found) == len(nodes) > 0
    for actual, node in zip(found, nodes, strict=True):
        assert actual.name == node.findtext("name")
        assert actual.mbid == text(node, "mbid")
        assert actual.match == float(text(node, "match"))


def check_correction(found: ArtistRef | None, root: ET.Element) -> None:
    node = root.find("corrections/correction/artist")
    assert node is not None and found is not None
    assert found == next(refs(iter([node])))


def check_user(found: UserProfile, root: ET.Element) -> None:
    user = root.find("user")
    assert user is not None
    assert found.name == user.findtext("name")
    assert found.real_name == text(user, "realname")
    assert found.url == text(user, "url")
    assert found.country == text(user, "country")
    assert found.playcount == number(user, "playcount")
    assert found.images == images(user)


def signed_user(lastfm: PylastLastfm, fake: FakeLastfm) -> UserProfile:
    return lastfm.authenticated_user(fake.open_session("RJ"))


CASES: dict[str, tuple[Call, Check]] = {
    "artist.getCorrection-guns_and_roses.yaml": (
        lambda lastfm, _: lastfm.correction("guns and roses"),
        check_correction,
    ),
    "artist.getInfo-john_lennon-with_user.yaml": (
        lambda lastfm, _: lastfm.artist_info(name="John Lennon", username="RJ"),
        check_artist_info,
    ),
    "artist.getInfo-no_bio.yaml": (
        lambda lastfm, _: lastfm.artist_info(name="Mr Sizef + Unquote"),
        check_artist_info,
    ),
    "artist.getInfo-radiohead-x3.yaml": (
        lambda lastfm, _: lastfm.artist_info(name="Radiohead"),
        check_artist_info,
    ),
    "artist.getInfo-test_artist-lang_en.yaml": (
        lambda lastfm, _: lastfm.artist_info(name="Test Artist", lang="en"),
        check_artist_info,
    ),
    "artist.getInfo-test_artist.yaml": (
        lambda lastfm, _: lastfm.artist_info(name="Test Artist"),
        check_artist_info,
    ),
    "artist.getSimilar-radiohead-limit2.yaml": (
        lambda lastfm, _: lastfm.similar("Radiohead", 2),
        check_similar,
    ),
    "artist.search-nirvana.yaml": (
        lambda lastfm, _: lastfm.search("Nirvana", 30, 1),
        check_refs("results/artistmatches/artist"),
    ),
    "chart.getTopArtists-limit1.yaml": (
        lambda lastfm, _: lastfm.chart_top_artists(1, 1),
        check_chart,
    ),
    "chart.getTopArtists-page1.yaml": (
        lambda lastfm, _: lastfm.chart_top_artists(50, 1),
        check_chart,
    ),
    "geo.getTopArtists-uk-limit1.yaml": (
        lambda lastfm, _: lastfm.geo_top_artists("United Kingdom", 1, 1),
        check_refs("topartists/artist"),
    ),
    "library.getArtists-x3.yaml": (
        lambda lastfm, _: lastfm.library_artists("RJ", 50),
        check_refs("artists/artist"),
    ),
    "tag.getTopArtists-blues-limit1.yaml": (
        lambda lastfm, _: lastfm.tag_top_artists("blues", 1, 1),
        check_refs("topartists/artist"),
    ),
    "user.getInfo-authenticated-a.yaml": (signed_user, check_user),
    "user.getInfo-authenticated-b.yaml": (signed_user, check_user),
    "user.getTopArtists-limit1.yaml": (
        lambda lastfm, _: lastfm.user_top_artists("RJ", 1),
        check_refs("topartists/artist"),
    ),
}
ERRORS = {"auth.getSession-invalid_token.yaml"}


@pytest.fixture
def alone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeLastfm]:
    """A fake serving only the cassette named by the test's parameter."""
    shutil.copy(RECORDINGS / request.param, tmp_path / request.param)
    with FakeLastfm(tmp_path) as server:
        yield server


def test_every_recording_has_a_replay_case() -> None:
    assert set(cassette_names()) == set(CASES) | ERRORS


@pytest.mark.parametrize("alone", sorted(CASES), indirect=True)
def test_a_recording_replayed_through_the_adapter_yields_its_xml_values(
    alone: FakeLastfm, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.params["alone"]
    call, check = CASES[name]
    lastfm = adapter_for(alone)
    recorded = documents(name)

    for root in recorded:  # one call per recorded interaction, each its own answer
        check(call(lastfm, alone), root)

    assert alone.requests.total == len(recorded)  # each call matched; none was retried
    lastfm.close()


@pytest.mark.parametrize("alone", sorted(ERRORS), indirect=True)
def test_the_recorded_unissued_token_error_is_an_authentication_error(
    alone: FakeLastfm,
) -> None:
    [root] = documents("auth.getSession-invalid_token.yaml")
    lastfm = adapter_for(alone)

    with pytest.raises(TokenRefused):
        lastfm.get_session("invalid")

    error = root.find("error")
    assert error is not None and error.get("code") == "4"
    assert alone.requests.total == 1
    lastfm.close()


# --- odd real data ----------------------------------------------------------------------


def test_search_keeps_lookalike_names_apart_and_names_sharing_one_mbid(
    lastfm: PylastLastfm,
) -> None:
    found = lastfm.search("Nirvana", 30, 1)

    by_mbid: dict[str, set[str]] = defaultdict(set)
    for artist in found:
        if artist.mbid:
            by_mbid[artist.mbid].add(artist.name)
    assert max(len(names) for names in by_mbid.values()) >= 2  # two names, one MBID
    folded = defaultdict(set)
    for artist in found:
        plain = unicodedata.normalize("NFKD", artist.name).casefold().strip("\ufeff")
        folded["".join(c for c in plain if c.isalnum())].add(artist.name)
    assert len(folded["nirvana"]) >= 4  # look-alikes stay distinct, spelt as sent
    assert sum(1 for artist in found if not artist.mbid) > 0  # no MBID reads as ""


def test_an_artist_with_no_mbid_and_no_bio_parses_to_empty_fields(lastfm: PylastLastfm) -> None:
    info = lastfm.artist_info(name="Mr Sizef + Unquote")

    assert info.mbid == ""
    assert info.bio_content == ""
    assert info.images == ()  # every recorded image URL is empty
    assert info.tags == () and info.similar == ()


def test_an_mbid_last_fm_does_not_know_falls_back_to_the_name(
    lastfm: PylastLastfm, fake: FakeLastfm
) -> None:
    info = lastfm.artist_info(name="Radiohead", mbid="00000000-0000-0000-0000-000000000000")

    assert info.name == "Radiohead"
    assert fake.requests.of("artist.getInfo") == 2


def test_one_adapter_serves_many_threads_each_with_its_own_session(
    lastfm: PylastLastfm, fake: FakeLastfm, limiter: CountingLimiter
) -> None:
    keys = [fake.open_session(f"user-{n}") for n in range(4)]
    found: list[str] = []
    failed: list[Exception] = []

    def work(key: str) -> None:
        try:
            found.append(lastfm.chart_top_artists(1, 1)[0].name)
            found.append(lastfm.authenticated_user(key).name)
        except Exception as error:
            failed.append(error)

    threads = [threading.Thread(target=work, args=(key,)) for key in keys * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failed == []
    assert sorted(found) == ["RJ"] * 8 + ["The Weeknd"] * 8
    assert fake.requests.total == limiter.acquired == 16
