"""The offline last.fm adapter: recorded catalogue, simulated days, derived answers, login."""

from __future__ import annotations

import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from datm.adapters.offline import Catalogue, CatalogueArtist, OfflineLastfm, load_catalogue
from datm.adapters.offline.catalogue import MAX_DAYS
from datm.domain.errors import InvalidInput, LastfmSessionRefused, TokenRefused, UnknownArtist
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "data" / "lastfm-recordings"
RADIOHEAD = "a74b1b7f-71a5-4011-9441-d0b5e4122711"


class StoppedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, days: int) -> None:
        self.current += timedelta(days=days)


def recorded_chart() -> list[ET.Element]:
    cassette = yaml.safe_load((RECORDINGS / "chart.getTopArtists-page1.yaml").read_text("utf-8"))
    body = cassette["interactions"][0]["response"]["body"]["string"]
    return list(ET.fromstring(body).iter("artist"))


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture
def lastfm(clock: StoppedClock) -> OfflineLastfm:
    return OfflineLastfm(clock)


def base_day(clock: StoppedClock) -> None:
    base = load_catalogue().base_date
    clock.current = datetime(base.year, base.month, base.day, 9, 30, tzinfo=UTC)


# --- catalogue -----------------------------------------------------------------------


def test_catalogue_numbers_equal_the_recorded_chart_field_by_field() -> None:
    recorded = recorded_chart()
    catalogue = load_catalogue()
    assert len(catalogue.artists) == len(recorded) == 50
    for node, artist in zip(recorded, catalogue.artists, strict=True):
        assert artist.name == node.findtext("name")
        assert artist.mbid == (node.findtext("mbid") or "")
        assert artist.listeners == int(node.findtext("listeners") or "")
        assert artist.playcount == int(node.findtext("playcount") or "")
        assert artist.url == node.findtext("url")
        images = {i.get("size"): i.text for i in node.findall("image")}
        assert {image.size: image.url for image in artist.images} == images


def test_catalogue_keeps_artists_without_mbid() -> None:
    catalogue = load_catalogue()
    assert {a.name for a in catalogue.artists if not a.mbid} == {"Kanye West", "Travis Scott"}


def test_catalogue_json_is_what_the_build_script_generates() -> None:
    script = ROOT / "tools" / "build_catalogue.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_offline_lastfm_implements_the_port(lastfm: OfflineLastfm) -> None:
    assert isinstance(lastfm, LastfmPort)
    assert lastfm.api_key == "offline"


# --- simulated numbers ---------------------------------------------------------------


def test_base_day_reports_the_recorded_numbers(clock: StoppedClock) -> None:
    base_day(clock)
    info = OfflineLastfm(clock).artist_info(mbid=RADIOHEAD)
    assert (info.listeners, info.playcount) == (7963266, 1285464096)
    clock.advance(-400)
    earlier = OfflineLastfm(clock).artist_info(mbid=RADIOHEAD)
    assert (earlier.listeners, earlier.playcount) == (7963266, 1285464096)


def test_same_day_gives_same_numbers_in_two_instances(clock: StoppedClock) -> None:
    first, second = OfflineLastfm(clock), OfflineLastfm(clock)
    assert first.chart_top_artists(50, 1) == second.chart_top_artists(50, 1)
    assert first.artist_info(name="Radiohead") == first.artist_info(name="Radiohead")


def test_numbers_move_from_day_to_day(clock: StoppedClock, lastfm: OfflineLastfm) -> None:
    seen = []
    for _ in range(5):
        info = lastfm.artist_info(name="Radiohead")
        seen.append((info.listeners, info.playcount))
        clock.advance(1)
    assert len(set(seen)) == 5
    playcounts = [playcount for _, playcount in seen]
    assert playcounts == sorted(playcounts)


def test_listeners_never_negative_and_growth_stops_after_max_days(clock: StoppedClock) -> None:
    tiny = CatalogueArtist(name="Tiny", mbid="", listeners=1, playcount=0)
    big = CatalogueArtist(name="Big", mbid="", listeners=10**6, playcount=10**8)
    catalogue = Catalogue(base_date=date(2026, 1, 1), artists=(tiny, big))
    lastfm = OfflineLastfm(clock, catalogue=catalogue)
    for days in range(0, MAX_DAYS + 1, 61):
        clock.current = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)
        assert lastfm.artist_info(name="tiny").listeners >= 0
        assert lastfm.artist_info(name="big").listeners >= 0
    clock.current = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=MAX_DAYS - 1)
    before_end = lastfm.artist_info(name="Big")
    clock.advance(1)
    end = lastfm.artist_info(name="Big")
    clock.advance(500)
    assert end != before_end
    assert lastfm.artist_info(name="Big") == end


def test_ten_years_of_growth_stays_positive_and_bounded(clock: StoppedClock) -> None:
    clock.advance(3650)
    for artist in OfflineLastfm(clock).chart_top_artists(50, 1):
        recorded = load_catalogue().by_name(artist.name)
        assert recorded is not None
        assert recorded.listeners <= artist.listeners <= recorded.listeners * 20
        assert recorded.playcount <= artist.playcount <= recorded.playcount * 40


# --- artists ---------------------------------------------------------------------------


def test_artist_info_by_name_or_mbid_ignores_case(lastfm: OfflineLastfm) -> None:
    by_name = lastfm.artist_info(name="  rAdIoHeAd ")
    by_mbid = lastfm.artist_info(mbid=RADIOHEAD.upper())
    assert by_name == by_mbid
    assert by_name.name == "Radiohead"
    assert by_name.tags[0] == "rock"
    assert by_name.bio_content.startswith("Radiohead are an English rock band")
    assert len(by_name.similar) == 5
    assert all(ref.name != "Radiohead" for ref in by_name.similar)
    assert by_name.url == "https://www.last.fm/music/Radiohead"
    assert by_name.streamable is False


def test_artist_without_mbid_has_info_with_empty_mbid(lastfm: OfflineLastfm) -> None:
    info = lastfm.artist_info(name="Kanye West")
    assert info.mbid == ""
    assert "offline catalogue" in info.bio_summary


def test_unknown_artist_raises_unknown_artist(lastfm: OfflineLastfm) -> None:
    with pytest.raises(UnknownArtist) as raised:
        lastfm.artist_info(name="Nobody At All")
    assert raised.value.fields == {"artist": "Nobody At All"}
    with pytest.raises(UnknownArtist):
        lastfm.artist_info(mbid="00000000-0000-0000-0000-000000000000")
    with pytest.raises(UnknownArtist):
        lastfm.similar("Nobody At All", 3)


def test_artist_info_without_name_or_mbid_is_invalid(lastfm: OfflineLastfm) -> None:
    with pytest.raises(InvalidInput):
        lastfm.artist_info()
    with pytest.raises(InvalidInput):
        lastfm.artist_info(name="  ", mbid="")


def test_correction_gives_the_canonical_spelling_or_none(lastfm: OfflineLastfm) -> None:
    corrected = lastfm.correction("the weeknd")
    assert corrected is not None
    assert (corrected.name, corrected.mbid) == (
        "The Weeknd",
        "c8b03190-306c-4120-bb0b-6f2ebfc06ea9",
    )
    assert lastfm.correction("guns and roses") is None


def test_similar_is_best_match_first_within_zero_and_one(lastfm: OfflineLastfm) -> None:
    similar = lastfm.similar("Nirvana", 10)
    assert len(similar) == 10
    matches = [artist.match for artist in similar]
    assert matches == sorted(matches, reverse=True)
    assert all(0 < match <= 1 for match in matches)
    assert "Nirvana" not in {artist.name for artist in similar}


def test_search_puts_exact_then_prefix_then_substring(lastfm: OfflineLastfm) -> None:
    names = [artist.name for artist in lastfm.search("the", 50, 1)]
    assert names[:4] == ["The Weeknd", "The Smiths", "The Neighbourhood", "The Marías"]
    assert "Tyler, The Creator" in names[4:]
    assert [a.name for a in lastfm.search("NIRVANA", 5, 1)] == ["Nirvana"]
    assert lastfm.search("no such band", 5, 1) == []


def test_search_pages_count_from_one(lastfm: OfflineLastfm) -> None:
    everything = lastfm.search("a", 1000, 1)
    pages = [lastfm.search("a", 7, page) for page in range(1, 20)]
    assert [artist for page in pages for artist in page] == everything
    assert lastfm.search("a", 7, 1) == everything[:7]


@pytest.mark.parametrize(("limit", "page"), [(0, 1), (1001, 1), (5, 0), (-1, -1)])
def test_limit_and_page_are_checked(lastfm: OfflineLastfm, limit: int, page: int) -> None:
    with pytest.raises(InvalidInput):
        lastfm.search("a", limit, page)
    with pytest.raises(InvalidInput):
        lastfm.chart_top_artists(limit, page)
    with pytest.raises(InvalidInput):
        lastfm.geo_top_artists("France", limit, page)


def test_chart_is_today_by_listeners_and_paged(lastfm: OfflineLastfm) -> None:
    chart = lastfm.chart_top_artists(50, 1)
    assert len(chart) == 50
    listeners = [artist.listeners for artist in chart]
    assert listeners == sorted(listeners, reverse=True)
    top = chart[0]
    info = lastfm.artist_info(name=top.name)
    assert (info.listeners, info.playcount) == (top.listeners, top.playcount)
    assert lastfm.chart_top_artists(10, 2) == chart[10:20]
    assert lastfm.chart_top_artists(10, 6) == []


def test_geo_and_tag_charts_are_deterministic(lastfm: OfflineLastfm) -> None:
    assert lastfm.geo_top_artists("France", 5, 1) == lastfm.geo_top_artists("france", 5, 1)
    assert lastfm.geo_top_artists("France", 50, 1) != lastfm.geo_top_artists("Japan", 50, 1)
    assert [a.name for a in lastfm.tag_top_artists("Rock", 5, 1)] == ["Radiohead"]
    assert len(lastfm.tag_top_artists("polka", 5, 1)) == 5
    with pytest.raises(InvalidInput):
        lastfm.geo_top_artists(" ", 5, 1)


# --- users -----------------------------------------------------------------------------


def test_user_recommendations_are_deterministic_and_differ_by_user(clock: StoppedClock) -> None:
    first, second = OfflineLastfm(clock), OfflineLastfm(clock)
    assert first.user_top_artists("alice", 10) == second.user_top_artists("alice", 10)
    assert first.library_artists("alice", 10) == second.library_artists("alice", 10)
    assert first.user_top_artists("alice", 10) != first.user_top_artists("bob", 10)
    assert first.library_artists("alice", 10) != first.library_artists("bob", 10)


def test_user_picks_put_artists_with_mbid_first(lastfm: OfflineLastfm) -> None:
    assert all(artist.mbid for artist in lastfm.user_top_artists("alice", 48))
    assert [a.mbid for a in lastfm.library_artists("alice", 50)][-2:] == ["", ""]


def test_user_info_is_generated_from_the_name(lastfm: OfflineLastfm) -> None:
    profile = lastfm.user_info("alice")
    assert profile.name == "alice"
    assert profile.url == "https://www.last.fm/user/alice"
    assert profile == lastfm.user_info("alice")
    assert profile.playcount > 0


@pytest.mark.parametrize("user", ["", "   "])
def test_blank_user_is_invalid(lastfm: OfflineLastfm, user: str) -> None:
    with pytest.raises(InvalidInput):
        lastfm.user_info(user)
    with pytest.raises(InvalidInput):
        lastfm.user_top_artists(user, 5)
    with pytest.raises(InvalidInput):
        lastfm.library_artists(user, 5)


# --- login -----------------------------------------------------------------------------


def test_authorised_token_gives_a_session_once(lastfm: OfflineLastfm) -> None:
    token = lastfm.get_token()
    lastfm.authorise(token, "alice")
    session = lastfm.get_session(token)
    assert session.user == "alice"
    assert session.key
    with pytest.raises(TokenRefused):
        lastfm.get_session(token)


def test_unauthorised_token_is_refused_and_stays_usable(lastfm: OfflineLastfm) -> None:
    token = lastfm.get_token()
    with pytest.raises(TokenRefused):
        lastfm.get_session(token)
    lastfm.authorise(token, "bob")
    assert lastfm.get_session(token).user == "bob"


def test_unissued_token_is_refused(lastfm: OfflineLastfm) -> None:
    with pytest.raises(TokenRefused):
        lastfm.get_session("invalid")
    with pytest.raises(TokenRefused):
        lastfm.authorise("invalid", "alice")


def test_tokens_and_session_keys_are_fresh(lastfm: OfflineLastfm) -> None:
    tokens = [lastfm.get_token() for _ in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        lastfm.authorise(token, "alice")
    assert len({lastfm.get_session(token).key for token in tokens}) == 3


def test_a_session_key_signs_calls_as_its_user_and_an_unknown_key_is_refused(
    lastfm: OfflineLastfm,
) -> None:
    token = lastfm.get_token()
    lastfm.authorise(token, "alice")
    session = lastfm.get_session(token)

    assert lastfm.authenticated_user(session.key) == lastfm.user_info("alice")
    with pytest.raises(LastfmSessionRefused):
        lastfm.authenticated_user("not-a-session-key")


def test_a_token_exchanged_by_many_threads_gives_one_session(lastfm: OfflineLastfm) -> None:
    token = lastfm.get_token()
    lastfm.authorise(token, "alice")
    outcomes: list[str] = []

    def exchange() -> None:
        try:
            lastfm.get_session(token)
            outcomes.append("session")
        except TokenRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=exchange) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["refused"] * 7 + ["session"]


def test_auth_url_carries_key_token_and_callback(clock: StoppedClock) -> None:
    lastfm = OfflineLastfm(clock, api_key="k 1")
    assert lastfm.auth_url(token="abc") == "offline://last.fm/api/auth/?api_key=k+1&token=abc"
    assert lastfm.auth_url(callback="https://x/cb?a=1") == (
        "offline://last.fm/api/auth/?api_key=k+1&cb=https%3A%2F%2Fx%2Fcb%3Fa%3D1"
    )
