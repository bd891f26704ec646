"""The shared cache's JSON codec: every cached value round-trips, and a document
that is not exactly a value of the expected type is refused, never executed."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from cache_fakes import CountingLastfm
from hypothesis import given
from hypothesis import strategies as st

from datm.adapters.lastfm.caching import RESULT_TYPES, Stamped
from datm.adapters.redis import codec
from datm.adapters.redis.cache import MAX_DOCUMENT_BYTES, _dumps, _loads
from datm.domain.lastfm import ArtistInfo, ArtistRef, Image, SimilarArtist, UserProfile

text = st.text(max_size=20)
images = st.tuples() | st.lists(st.builds(Image, text, text), max_size=3).map(tuple)
refs = st.builds(ArtistRef, text, text, images)
counts = st.integers(min_value=0, max_value=2**53)
infos = st.builds(
    ArtistInfo,
    name=text,
    mbid=text,
    listeners=counts,
    playcount=counts,
    url=text,
    images=images,
    tags=st.lists(text, max_size=3).map(tuple),
    similar=st.lists(refs, max_size=3).map(tuple),
    bio_summary=text,
    bio_content=text,
    streamable=st.booleans(),
)


def round_trip(result_type: Any, value: object) -> object:
    return _loads(result_type, _dumps(Stamped(value, 12.5))).value


@given(infos)
def test_artist_info_round_trips(value: ArtistInfo) -> None:
    assert round_trip(ArtistInfo, value) == value


@given(st.none() | refs)
def test_a_correction_or_none_round_trips(value: ArtistRef | None) -> None:
    assert round_trip(RESULT_TYPES["correction"], value) == value


@given(st.lists(st.builds(SimilarArtist, text, text, st.floats(0, 1)), max_size=4))
def test_similar_artists_round_trip(value: list[SimilarArtist]) -> None:
    assert round_trip(RESULT_TYPES["similar"], value) == value


def test_the_fetch_time_round_trips() -> None:
    stamped = _loads(UserProfile, _dumps(Stamped(UserProfile("alice"), 1234.5)))
    assert stamped == Stamped(UserProfile("alice"), 1234.5)


def test_an_answer_of_every_cached_call_round_trips_with_its_declared_type() -> None:
    fake = CountingLastfm()
    answers = {
        "artist_info": fake.artist_info("Cher", username="alice"),
        "correction": fake.correction("cher"),
        "similar": fake.similar("Cher", 2),
        "search": fake.search("che", 2, 1),
        "chart_top_artists": fake.chart_top_artists(2, 1),
        "geo_top_artists": fake.geo_top_artists("France", 2, 1),
        "tag_top_artists": fake.tag_top_artists("rock", 2, 1),
        "user_info": fake.user_info("alice"),
        "user_top_artists": fake.user_top_artists("alice", 2),
        "library_artists": fake.library_artists("alice", 2),
    }
    assert set(answers) == set(RESULT_TYPES)
    for method, answer in answers.items():
        assert round_trip(RESULT_TYPES[method], answer) == answer, method


def test_a_missing_field_with_a_default_takes_it() -> None:
    assert codec.decode(ArtistRef, {"name": "x", "mbid": ""}) == ArtistRef("x", "")


@pytest.mark.parametrize(
    "document",
    [
        {"name": "x"},  # mbid has no default
        {"name": "x", "mbid": "", "evil": 1},  # a field datm does not have
        {"name": 1, "mbid": ""},  # a number for a string
        {"name": "x", "mbid": "", "images": [{"size": "s"}]},
        {"name": "x", "mbid": "", "images": "abc"},  # a string is not a tuple
        ["x", ""],
        "x",
        None,
    ],
)
def test_a_document_of_the_wrong_shape_is_refused(document: object) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(ArtistRef, document)


@pytest.mark.parametrize("bad", [True, 1.5, "7", None])
def test_a_count_must_be_a_whole_number_not_a_bool(bad: object) -> None:
    document = codec.encode(ArtistInfo("x", "", 1, 2)) | {"listeners": bad}
    with pytest.raises(codec.CodecError):
        codec.decode(ArtistInfo, document)


def test_a_flag_must_be_a_bool() -> None:
    document = codec.encode(ArtistInfo("x", "", 1, 2)) | {"streamable": 1}
    with pytest.raises(codec.CodecError):
        codec.decode(ArtistInfo, document)


class Boom:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (print, ("pickle ran code",))


@pytest.mark.parametrize(
    "data",
    [
        pickle.dumps(Stamped(UserProfile("alice"), 1.0)),
        pickle.dumps(Boom()),
        b"",
        b"\xff\xfe",
        b"[]",
        json.dumps({"fetched": 1.0}).encode(),
        json.dumps({"fetched": "now", "value": {"name": "a"}}).encode(),
        json.dumps({"fetched": 1.0, "value": {"name": "a"}, "more": 1}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b" " * (MAX_DOCUMENT_BYTES + 1),
    ],
)
def test_a_stored_document_that_is_not_a_cached_answer_is_refused(
    data: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises((ValueError, RecursionError)):
        _loads(UserProfile, data)
    assert "pickle ran code" not in capsys.readouterr().out


def test_only_datms_last_fm_values_can_be_encoded() -> None:
    with pytest.raises(codec.CodecError):
        codec.encode({"a": 1})
    with pytest.raises(codec.CodecError):
        codec.encode(Boom())
