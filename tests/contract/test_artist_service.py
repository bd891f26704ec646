"""ArtistService on every backend: last.fm data only, by MBID or by name; it lists nothing."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from harness import Game

from datm.domain.errors import DataError, InvalidInput, NoMbid, UnknownArtist
from datm.domain.lastfm import ArtistRef, ChartArtist, UserProfile
from datm.services.results import ArtistBasic, ArtistLastfmData, ArtistLight

RADIOHEAD = "a74b1b7f-71a5-4011-9441-d0b5e4122711"


def test_basic_by_mbid_gives_mbid_name_and_images(game: Game) -> None:
    entry = next(a for a in game.chart() if a.mbid == RADIOHEAD)

    basic = game.artists.basic(RADIOHEAD)

    assert basic == ArtistBasic(RADIOHEAD, "Radiohead", entry.images)
    assert basic.images, "the catalogue has images for every artist"
    with pytest.raises(dataclasses.FrozenInstanceError):
        basic.name = "Other"  # type: ignore[misc]


@pytest.mark.parametrize("ref", ["radiohead", "RADIOHEAD", "  Radiohead  ", RADIOHEAD.upper()])
def test_basic_by_name_or_mbid_in_any_case_is_corrected_to_the_same_artist(
    game: Game, ref: str
) -> None:
    assert game.artists.basic(ref) == game.artists.basic(RADIOHEAD)


def test_light_gives_only_mbid_and_name(game: Game) -> None:
    light = game.artists.light("the smiths")

    smiths = next(a for a in game.chart() if a.name == "The Smiths")
    assert light == ArtistLight(smiths.mbid, "The Smiths")
    assert [f.name for f in dataclasses.fields(light)] == ["mbid", "name"]


@pytest.mark.parametrize("method", ["basic", "light"])
def test_an_artist_without_mbid_is_refused_with_no_mbid(game: Game, method: str) -> None:
    nameless = game.without_mbid()

    with pytest.raises(NoMbid) as refused:
        getattr(game.artists, method)(nameless.name.lower())

    assert isinstance(refused.value, DataError)
    assert refused.value.artist == nameless.name


@pytest.mark.parametrize(
    "ref", ["No Such Band Anywhere", str(uuid.uuid4())], ids=["by-name", "by-mbid"]
)
@pytest.mark.parametrize("method", ["basic", "light", "lastfm_data"])
def test_an_artist_last_fm_does_not_know_is_unknown(game: Game, method: str, ref: str) -> None:
    with pytest.raises(UnknownArtist) as refused:
        getattr(game.artists, method)(ref)

    assert isinstance(refused.value, DataError)


@pytest.mark.parametrize("ref", ["", "   ", "x" * 513])
def test_a_blank_or_overlong_reference_is_invalid_input(game: Game, ref: str) -> None:
    with pytest.raises(InvalidInput):
        game.artists.basic(ref)


def test_lastfm_data_gives_todays_numbers_tags_similar_and_bio(game: Game) -> None:
    info = game.lastfm.artist_info(mbid=RADIOHEAD)

    data = game.artists.lastfm_data(RADIOHEAD)

    assert isinstance(data, ArtistLastfmData)
    assert (data.mbid, data.name) == (RADIOHEAD, "Radiohead")
    assert (data.listeners, data.playcount) == (info.listeners, info.playcount)
    assert data.listeners > 0 and data.playcount > 0
    assert data.tags == info.tags and data.tags
    assert data.similar == info.similar and data.similar
    assert all(isinstance(s, ArtistRef) for s in data.similar)
    assert (data.bio_summary, data.bio_content) == (info.bio_summary, info.bio_content)
    assert data.bio_summary and data.bio_content
    assert data.streamable == info.streamable
    assert data.images == info.images
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.listeners = 0  # type: ignore[misc]


def test_lastfm_data_by_name_equals_lastfm_data_by_mbid(game: Game) -> None:
    assert game.artists.lastfm_data("radiohead") == game.artists.lastfm_data(RADIOHEAD)


def test_lastfm_data_moves_with_the_day(game: Game) -> None:
    today = game.artists.lastfm_data(RADIOHEAD)
    game.next_day()

    tomorrow = game.artists.lastfm_data(RADIOHEAD)

    assert tomorrow.playcount > today.playcount
    assert tomorrow.playcount == game.lastfm.artist_info(mbid=RADIOHEAD).playcount


def test_search_returns_last_fm_matches_most_relevant_first(game: Game) -> None:
    found = game.artists.search("radiohead", 5, 1)

    assert found[0] == ArtistRef("Radiohead", RADIOHEAD, found[0].images)
    assert found == game.lastfm.search("radiohead", 5, 1)
    assert all(isinstance(a, ArtistRef) for a in found)


def test_search_pages_through_partial_matches_without_overlap(game: Game) -> None:
    everything = game.artists.search("a", 50, 1)
    assert len(everything) > 6

    first = game.artists.search("a", 3, 1)
    second = game.artists.search("a", 3, 2)

    assert first == everything[:3]
    assert second == everything[3:6]
    assert all("a" in a.name.casefold() for a in everything)


@pytest.mark.parametrize(
    ("query", "limit", "page"),
    [("", 5, 1), ("   ", 5, 1), ("rad", 0, 1), ("rad", 5, 0), ("rad", 5000, 1)],
)
def test_search_refuses_a_blank_query_or_a_bad_page(
    game: Game, query: str, limit: int, page: int
) -> None:
    with pytest.raises(InvalidInput):
        game.artists.search(query, limit, page)


def test_similar_lists_last_fm_similar_artists_by_mbid_or_name(game: Game) -> None:
    expected = [ArtistRef(s.name, s.mbid) for s in game.lastfm.similar("Radiohead", 4)]

    by_mbid = game.artists.similar(RADIOHEAD, 4)
    by_name = game.artists.similar("RADIOHEAD", 4)

    assert by_mbid == by_name == expected
    assert len(by_mbid) == 4
    assert all(a.name != "Radiohead" for a in by_mbid)


def test_chart_is_last_fm_global_chart_with_paging(game: Game) -> None:
    top10 = game.artists.chart(10, 1)

    assert top10 == game.lastfm.chart_top_artists(10, 1)
    assert all(isinstance(a, ChartArtist) for a in top10)
    assert [a.listeners for a in top10] == sorted((a.listeners for a in top10), reverse=True)
    assert game.artists.chart(5, 2) == top10[5:]


def test_country_chart_is_last_fm_chart_of_that_country(game: Game) -> None:
    chart = game.artists.country_chart("Germany", 7, 1)

    assert chart == game.lastfm.geo_top_artists("Germany", 7, 1)
    assert len(chart) == 7
    assert game.artists.country_chart("Germany", 3, 2) == chart[3:6]


def test_tag_chart_is_last_fm_top_artists_of_that_tag(game: Game) -> None:
    tag = game.lastfm.artist_info(mbid=RADIOHEAD).tags[0]

    chart = game.artists.tag_chart(tag, 5, 1)

    assert chart == game.lastfm.tag_top_artists(tag, 5, 1)
    assert "Radiohead" in [a.name for a in chart]


@pytest.mark.parametrize("method", ["country_chart", "tag_chart"])
def test_a_blank_country_or_tag_is_invalid_input(game: Game, method: str) -> None:
    with pytest.raises(InvalidInput):
        getattr(game.artists, method)("  ", 5, 1)


def test_user_profile_is_the_users_public_last_fm_profile(game: Game) -> None:
    profile = game.artists.user_profile("some-listener")

    assert isinstance(profile, UserProfile)
    assert profile == game.lastfm.user_info("some-listener")
    assert profile.name == "some-listener"
    with pytest.raises(InvalidInput):
        game.artists.user_profile("")


def test_artist_pages_list_nothing_in_the_market(game: Game) -> None:
    game.artists.basic(RADIOHEAD)
    game.artists.light("radiohead")
    game.artists.lastfm_data(RADIOHEAD)
    game.artists.similar(RADIOHEAD, 3)
    game.artists.chart(10, 1)

    assert game.analytics.counts().listed_artists == 0
    assert list(game.analytics.artists()) == []
