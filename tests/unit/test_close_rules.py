"""The daily close of game-rules.md: points, dividends and an artist's new state."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain import pricing
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.close import close_artist, close_dividend, close_points, is_closed

MBID = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
LISTED = date(2024, 5, 1)
DAY = date(2024, 5, 6)


def make_artist(
    price: int = 150,
    max_shares: int = 5,
    holders: int = 3,
    lcp: int = 100,
    listeners: int = 1_000,
    playcount: int = 100_000,
    last_closed_on: date | None = None,
) -> Artist:
    return Artist(
        mbid=MBID,
        name="Radiohead",
        price=price,
        max_shares=max_shares,
        last_close_price=lcp,
        last_listeners=listeners,
        last_playcount=playcount,
        listed_on=LISTED,
        holders=holders,
        last_closed_on=last_closed_on,
    )


# --- points: round(0.0005 * dS + 0.05 * dL) ------------------------------------


@pytest.mark.parametrize(
    ("d_listeners", "d_playcount", "expected"),
    [
        (100, 10_000, 10),  # 0.0005*10000 = 5; 0.05*100 = 5 -> 10
        (7, 1_234, 1),  # 0.617 + 0.35 = 0.967 -> 1
        (0, 0, 0),
        (0, 1_000, 0),  # 0.5 -> half-even -> 0
        (0, 3_000, 2),  # 1.5 -> 2
        (0, 5_000, 2),  # 2.5 -> 2
        (10, 0, 0),  # 0.05*10 = 0.5 -> 0
        (30, 0, 2),  # 0.05*30 = 1.5 -> 2
    ],
)
def test_close_points_weigh_plays_and_listeners_rounded_half_even(
    d_listeners: int, d_playcount: int, expected: int
) -> None:
    assert close_points(d_listeners, d_playcount) == expected


@pytest.mark.parametrize(
    ("d_listeners", "d_playcount", "expected"),
    [
        (-100, -10_000, -10),  # -5 + -5 = -10
        (0, -1_000, 0),  # -0.5 -> half-even -> 0
        (0, -3_000, -2),  # -1.5 -> -2
        (0, -5_000, -2),  # -2.5 -> -2
        (-300, 20_000, -5),  # 10 - 15 = -5
        (50, -2_000, 2),  # -1 + 2.5 = 1.5 -> 2
    ],
)
def test_close_points_are_negative_when_an_artist_loses_plays_or_listeners(
    d_listeners: int, d_playcount: int, expected: int
) -> None:
    assert close_points(d_listeners, d_playcount) == expected


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_close_points_equal_the_exact_fraction_rounded_half_even(
    d_listeners: int, d_playcount: int
) -> None:
    exact = Fraction(5 * d_playcount, 10_000) + Fraction(5 * d_listeners, 100)
    assert close_points(d_listeners, d_playcount) == round(exact)


# --- dividend: round(0.01 * (3 * sqrt(max(0, dS)) + 0.05 * max(0, dL))) -------


@pytest.mark.parametrize(
    ("d_listeners", "d_playcount", "expected"),
    [
        (0, 0, 0),
        (0, 10_000, 3),  # 3*sqrt(10000) = 300; *0.01 = 3
        (0, 2_500, 2),  # 3*50 = 150; *0.01 = 1.5 -> half-even -> 2
        (2_000, 2_500, 2),  # 150 + 0.05*2000 = 250; 2.5 -> 2
        (1_000, 10_000, 4),  # 300 + 50 = 350; 3.5 -> 4
        (1_000, 2_500, 2),  # 150 + 50 = 200; 2
        (10_000, 1_000_000, 35),  # 3*1000 + 500 = 3500; 35
        (0, 2, 0),  # 3*1.41421 = 4.2426; 0.0424 -> 0
        (0, 5_000, 2),  # 3*70.7107 = 212.13; 2.1213 -> 2
        (0, 1_234_567, 33),  # 3*1111.1107 = 3333.33; 33.33 -> 33
    ],
)
def test_dividend_grows_with_the_root_of_new_plays_and_new_listeners(
    d_listeners: int, d_playcount: int, expected: int
) -> None:
    assert close_dividend(d_listeners, d_playcount) == expected


@pytest.mark.parametrize(
    ("d_listeners", "d_playcount", "expected"),
    [
        (-500, -10_000, 0),  # both clamp to 0 -> 0
        (1_000, -10_000, 0),  # sqrt(max(0,-10000)) = 0; 0.05*1000 = 50; 0.5 -> 0
        (3_000, -10_000, 2),  # 0 + 150; 1.5 -> 2
        (-5_000, 10_000, 3),  # 300 + 0 (a loss is not subtracted); 3
    ],
)
def test_dividend_ignores_losses_and_is_never_negative(
    d_listeners: int, d_playcount: int, expected: int
) -> None:
    assert close_dividend(d_listeners, d_playcount) == expected


@given(st.integers(-(10**9), 10**9), st.integers(-(10**12), 10**12))
def test_dividend_is_the_nearest_integer_to_the_exact_value(
    d_listeners: int, d_playcount: int
) -> None:
    r = close_dividend(d_listeners, d_playcount)
    a, b = max(0, d_playcount), max(0, d_listeners)
    assert r >= 0
    # x = (3 sqrt(a) + b/20) / 100 and |r - x| <= 1/2, times 2000:
    # 2000r - 1000 - b <= 60 sqrt(a) <= 2000r + 1000 - b, checked by squaring
    low, high = 2000 * r - 1000 - b, 2000 * r + 1000 - b
    assert high >= 0
    assert 3600 * a <= high * high
    if low > 0:
        assert low * low <= 3600 * a


# --- close_artist ----------------------------------------------------------------


def test_close_artist_pays_points_and_dividend_from_the_deltas() -> None:
    artist = make_artist()
    result = close_artist(artist, 1_100, 110_000, DAY, players=400, top_listeners=10_000)
    # dL = 1100-1000 = 100, dS = 110000-100000 = 10000
    assert result.points == 10  # 0.0005*10000 + 0.05*100 = 5 + 5
    assert result.dividend == 3  # 0.01*(3*100 + 0.05*100) = 3.05 -> 3
    assert result.day == DAY
    assert result.mbid == MBID
    assert result.history == HistoryPoint(MBID, DAY, 150, 10, 3)


def test_close_artist_makes_the_price_the_closing_price_and_stores_the_new_numbers() -> None:
    artist = make_artist(price=150, lcp=100)
    close_artist(artist, 1_100, 110_000, DAY, players=400, top_listeners=10_000)
    assert artist.price == 150  # the close does not move the price
    assert artist.last_close_price == 150
    assert artist.last_listeners == 1_100
    assert artist.last_playcount == 110_000
    assert artist.last_closed_on == DAY
    assert artist.holders == 3


def test_close_artist_raises_max_shares_to_todays_formula() -> None:
    artist = make_artist(max_shares=5, holders=3)
    close_artist(artist, 1_100, 110_000, DAY, players=400, top_listeners=10_000)
    # ceil(0.1*400*1100/10000) = ceil(4.4) = 5; max(3, 5) = 5
    assert artist.max_shares == 5
    artist = make_artist(max_shares=2, holders=1)
    close_artist(artist, 1_100, 110_000, DAY, players=1_000, top_listeners=10_000)
    # ceil(0.1*1000*1100/10000) = 11; max(1, 11) = 11
    assert artist.max_shares == 11


def test_close_artist_never_lowers_max_shares_below_the_current_holders() -> None:
    artist = make_artist(max_shares=5, holders=3)
    close_artist(artist, 1_100, 110_000, DAY, players=100, top_listeners=10_000)
    # ceil(0.1*100*1100/10000) = ceil(1.1) = 2; max(3, 2) = 3
    assert artist.max_shares == 3
    assert artist.remaining == 0


def test_close_artist_gives_negative_points_and_no_dividend_when_an_artist_declines() -> None:
    artist = make_artist()
    result = close_artist(artist, 900, 90_000, DAY, players=10, top_listeners=10_000)
    assert result.points == -10  # 0.0005*-10000 + 0.05*-100 = -5 - 5
    assert result.dividend == 0
    assert artist.last_listeners == 900
    assert artist.last_playcount == 90_000


def test_is_closed_only_for_the_day_of_the_last_close_or_earlier() -> None:
    assert not is_closed(make_artist(last_closed_on=None), DAY)
    assert is_closed(make_artist(last_closed_on=DAY), DAY)
    assert is_closed(make_artist(last_closed_on=date(2024, 5, 7)), DAY)
    assert not is_closed(make_artist(last_closed_on=date(2024, 5, 5)), DAY)


def test_closing_an_artist_marks_its_day_as_closed() -> None:
    artist = make_artist()
    assert not is_closed(artist, DAY)
    close_artist(artist, 1_000, 100_000, DAY, players=10, top_listeners=10_000)
    assert is_closed(artist, DAY)


@st.composite
def artists(draw: st.DrawFn) -> Artist:
    max_shares = draw(st.integers(1, 1_000))
    return make_artist(
        price=draw(st.integers(1, 10**6)),
        max_shares=max_shares,
        holders=draw(st.integers(0, max_shares)),
        lcp=draw(st.integers(1, 10**6)),
        listeners=draw(st.integers(0, 10**8)),
        playcount=draw(st.integers(0, 10**10)),
    )


@given(
    artists(),
    st.integers(0, 10**8),
    st.integers(0, 10**10),
    st.integers(0, 10**6),
    st.integers(1, 10**8),
)
def test_close_artist_sets_last_numbers_and_max_shares_to_the_larger_of_holders_and_formula(
    artist: Artist, listeners: int, playcount: int, players: int, top: int
) -> None:
    price, holders = artist.price, artist.holders
    d_l, d_s = listeners - artist.last_listeners, playcount - artist.last_playcount
    result = close_artist(artist, listeners, playcount, DAY, players, top)
    formula = max(1, math.ceil(Fraction(players * listeners, 10 * top)))
    assert artist.max_shares == max(holders, formula)
    assert artist.max_shares == max(holders, pricing.max_shares(players, listeners, top))
    assert artist.last_close_price == price
    assert artist.price == price
    assert artist.last_listeners == listeners
    assert artist.last_playcount == playcount
    assert artist.last_closed_on == DAY
    assert artist.remaining >= 0
    assert result.points == close_points(d_l, d_s)
    assert result.dividend == close_dividend(d_l, d_s)
    assert result.history == HistoryPoint(MBID, DAY, price, result.points, result.dividend)
