"""Price rules of game-rules.md: listing, max shares, sell price and the trade moves."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain import pricing
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.errors import DataError, NoMbid

# --- listing price: max(1, round(0.07 * S / sqrt(L))) -------------------------


@pytest.mark.parametrize(
    ("listeners", "playcount", "expected"),
    [
        (10_000, 1_000_000, 700),  # 0.07*1e6 = 70000; /sqrt(10000)=100 -> 700
        (4_000_000, 500_000_000, 17_500),  # 0.07*5e8 = 3.5e7; /2000 -> 17500
        (100, 250, 2),  # 0.07*250 = 17.5; /10 = 1.75 -> 2
        (9, 75, 2),  # 0.07*75 = 5.25; /3 = 1.75 -> 2
        (2, 1000, 49),  # 70 / 1.41421356... = 49.497... -> 49
        (1, 10, 1),  # 0.07*10 = 0.7 -> rounds up to 1 (not the floor)
    ],
)
def test_listing_price_is_seven_hundredths_of_plays_over_root_listeners(
    listeners: int, playcount: int, expected: int
) -> None:
    assert pricing.listing_price(listeners, playcount) == expected


@pytest.mark.parametrize(
    ("listeners", "playcount", "expected"),
    [
        (1, 50, 4),  # 0.07*50 = 3.5; /1 = 3.5 -> half-even -> 4
        (1, 150, 10),  # 0.07*150 = 10.5 -> half-even -> 10
        (4, 100, 4),  # 0.07*100 = 7; /2 = 3.5 -> 4
        (4, 300, 10),  # 0.07*300 = 21; /2 = 10.5 -> 10
        (196, 300, 2),  # 0.07*300 = 21; /14 = 1.5 -> 2
        (196, 500, 2),  # 0.07*500 = 35; /14 = 2.5 -> 2
    ],
)
def test_listing_price_rounds_exact_halves_to_even(
    listeners: int, playcount: int, expected: int
) -> None:
    assert pricing.listing_price(listeners, playcount) == expected


@pytest.mark.parametrize(
    ("listeners", "playcount"),
    [
        (10_000, 5),  # 0.07*5 = 0.35; /100 = 0.0035 -> 0 -> floor 1
        (1, 7),  # 0.07*7 = 0.49 -> 0 -> floor 1
        (196, 100),  # 0.07*100 = 7; /14 = 0.5 -> half-even 0 -> floor 1
        (1_000, 0),  # 0 plays -> 0 -> floor 1
        (0, 1_000),  # no listeners: the module lists at the floor, 1
    ],
)
def test_listing_price_never_goes_below_one(listeners: int, playcount: int) -> None:
    assert pricing.listing_price(listeners, playcount) == 1


@given(st.integers(1, 10**12), st.integers(0, 10**13))
def test_listing_price_is_the_nearest_integer_to_the_exact_value_or_one(
    listeners: int, playcount: int
) -> None:
    price = pricing.listing_price(listeners, playcount)
    assert price >= 1
    # x = 7S / (100 sqrt L). |price - x| <= 1/2 squared, in integers:
    # (2p-1)^2 * 10^4 * L <= (14 S)^2 <= (2p+1)^2 * 10^4 * L
    plays_sq = (14 * playcount) ** 2
    assert plays_sq <= (2 * price + 1) ** 2 * 10_000 * listeners
    if price > 1:
        assert (2 * price - 1) ** 2 * 10_000 * listeners <= plays_sq


# --- max shares: max(1, ceil(0.1 * N * L / L_top)) ----------------------------


@pytest.mark.parametrize(
    ("players", "listeners", "top", "expected"),
    [
        (100, 1_000, 1_000_000, 1),  # 0.1*100*1000/1e6 = 0.01 -> ceil 1
        (1_000, 500_000, 1_000_000, 50),  # 0.1*1000*5e5/1e6 = 50 exactly -> 50
        (1_000, 500_001, 1_000_000, 51),  # 50.0001 -> ceil 51
        (10, 1_000_000, 1_000_000, 1),  # 0.1*10*1 = 1 exactly -> 1
        (11, 1_000_000, 1_000_000, 2),  # 0.1*11*1 = 1.1 -> ceil 2
        (100, 2, 3, 7),  # 0.1*100*2/3 = 6.67 -> ceil 7
        (30, 1, 3, 1),  # 0.1*30*1/3 = 1 exactly (a float gives 1.0000000000000002 -> 2)
        (70, 1, 7, 1),  # 0.1*70/7 = 1 exactly (float 0.1*70 = 7.000000000000001)
        (0, 1_000, 1_000_000, 1),  # no players: 0 -> floor 1
    ],
)
def test_max_shares_is_a_tenth_of_players_scaled_by_listener_share_rounded_up(
    players: int, listeners: int, top: int, expected: int
) -> None:
    assert pricing.max_shares(players, listeners, top) == expected


def test_max_shares_is_one_when_the_chart_top_is_unknown() -> None:
    assert pricing.max_shares(100, 1_000, 0) == 1


@given(st.integers(0, 10**7), st.integers(0, 10**10), st.integers(1, 10**10))
def test_max_shares_equals_the_exact_rational_ceiling(
    players: int, listeners: int, top: int
) -> None:
    exact = Fraction(players * listeners, 10 * top)  # 0.1*N*L/L_top
    assert pricing.max_shares(players, listeners, top) == max(1, math.ceil(exact))


# --- sell price: round(price * 0.98) -------------------------------------------


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (125, 122),  # 125*0.98 = 122.5 -> half-even -> 122
        (75, 74),  # 75*0.98 = 73.5 -> half-even -> 74
        (25, 24),  # 25*0.98 = 24.5 -> 24
        (175, 172),  # 175*0.98 = 171.5 -> 172
        (100, 98),  # 100*0.98 = 98
        (1_000, 980),  # 1000*0.98 = 980
        (37, 36),  # 37*0.98 = 36.26 -> 36
        (26, 25),  # 26*0.98 = 25.48 -> 25
        (2, 2),  # 2*0.98 = 1.96 -> 2
        (1, 1),  # 1*0.98 = 0.98 -> 1
    ],
)
def test_sell_price_is_ninety_eight_percent_rounded_half_even(price: int, expected: int) -> None:
    assert pricing.sell_price(price) == expected


@given(st.integers(0, 10**15))
def test_sell_price_equals_exact_fraction_rounded_half_even(price: int) -> None:
    # Fraction.__round__ rounds half to even
    assert pricing.sell_price(price) == round(Fraction(price * 98, 100))


# --- buy move: trunc(lcp * 0.01 * (10 - 9R/M) / M) ----------------------------


@pytest.mark.parametrize(
    ("lcp", "remaining", "shares", "expected"),
    [
        (1_000, 10, 10, 1),  # 10 - 9*10/10 = 1; 1000*0.01 = 10; 10*1/10 = 1
        (1_000, 5, 10, 5),  # 10 - 4.5 = 5.5; 10*5.5/10 = 5.5 -> trunc 5
        (1_000, 1, 10, 9),  # 10 - 0.9 = 9.1; 10*9.1/10 = 9.1 -> trunc 9
        (700, 3, 3, 2),  # 10 - 9 = 1; 7*1/3 = 2.33 -> trunc 2
        (100, 1, 1, 1),  # 10 - 9 = 1; 1*1/1 = 1
        (99, 1, 1, 0),  # 0.99*1/1 = 0.99 -> trunc 0
        # 10 - 45/7 = 25/7; 1.96 * 25/7 / 7 = 49/49 = 1 exactly; computed as
        # 10 - 9R/M in 28-digit Decimal this is 0.9999...9 and truncates to 0.
        (196, 5, 7, 1),
    ],
)
def test_buy_move_rises_more_as_fewer_rights_remain(
    lcp: int, remaining: int, shares: int, expected: int
) -> None:
    assert pricing.buy_move(lcp, remaining, shares) == expected


def test_price_after_buy_adds_the_buy_move() -> None:
    # move = trunc(1000*0.01*(10 - 9*1/10)/10) = trunc(9.1) = 9; 1000 + 9
    assert pricing.price_after_buy(1_000, 1_000, 1, 10) == 1_009


@st.composite
def move_inputs(draw: st.DrawFn) -> tuple[int, int, int]:
    shares = draw(st.integers(1, 10_000))
    remaining = draw(st.integers(0, shares))
    lcp = draw(st.integers(1, 10**9))
    return lcp, remaining, shares


@given(move_inputs())
def test_buy_move_equals_the_exact_rational_value_truncated(
    inputs: tuple[int, int, int],
) -> None:
    lcp, remaining, shares = inputs
    exact = Fraction(lcp, 100) * (10 - Fraction(9 * remaining, shares)) / shares
    assert pricing.buy_move(lcp, remaining, shares) == math.trunc(exact)


# --- sell move: trunc(lcp * 0.01 * (1 + 9R/M) / M), price never below 1 -------


@pytest.mark.parametrize(
    ("lcp", "remaining", "shares", "expected"),
    [
        (1_000, 0, 10, 1),  # 1 + 0 = 1; 10*1/10 = 1
        (1_000, 5, 10, 5),  # 1 + 4.5 = 5.5; 10*5.5/10 = 5.5 -> trunc 5
        (1_000, 9, 10, 9),  # 1 + 8.1 = 9.1; 10*9.1/10 = 9.1 -> trunc 9
        (50, 0, 1, 0),  # 0.5*1/1 = 0.5 -> trunc 0
        (300, 2, 3, 7),  # 1 + 6 = 7; 3*7/3 = 7
    ],
)
def test_sell_move_falls_more_as_more_rights_remain(
    lcp: int, remaining: int, shares: int, expected: int
) -> None:
    assert pricing.sell_move(lcp, remaining, shares) == expected


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (100, 91),  # move trunc(10*(1+8.1)/10) = 9; 100 - 9 = 91
        (11, 2),  # 11 - 9 = 2
        (10, 1),  # 10 - 9 = 1
        (5, 1),  # 5 - 9 = -4 -> floor 1
        (1, 1),  # 1 - 9 = -8 -> floor 1
    ],
)
def test_price_after_sell_subtracts_the_move_but_never_goes_below_one(
    price: int, expected: int
) -> None:
    assert pricing.price_after_sell(price, 1_000, 9, 10) == expected


@given(move_inputs())
def test_sell_move_equals_the_exact_rational_value_truncated(
    inputs: tuple[int, int, int],
) -> None:
    lcp, remaining, shares = inputs
    exact = Fraction(lcp, 100) * (1 + Fraction(9 * remaining, shares)) / shares
    assert pricing.sell_move(lcp, remaining, shares) == math.trunc(exact)


@given(
    st.integers(1, 10**9),
    move_inputs(),
    st.lists(st.booleans(), max_size=60),
)
def test_price_stays_at_least_one_through_any_sequence_of_moves(
    price: int, inputs: tuple[int, int, int], buys: list[bool]
) -> None:
    lcp, remaining, shares = inputs
    for is_buy in buys:
        if is_buy and remaining > 0:
            new = pricing.price_after_buy(price, lcp, remaining, shares)
            assert new >= price
            price, remaining = new, remaining - 1
        elif not is_buy and remaining < shares:
            price = pricing.price_after_sell(price, lcp, remaining, shares)
            remaining += 1
        assert price >= 1


# --- listing an artist -------------------------------------------------------------


def test_listing_sets_price_shares_last_numbers_and_a_first_history_point() -> None:
    day = date(2024, 5, 6)
    artist, history = Artist.list(
        mbid="A74B1B7F-71A5-4011-9441-D0B5E4122711",
        name="Radiohead",
        listeners=10_000,
        playcount=1_000_000,
        players=2_000,
        top_listeners=1_000_000,
        today=day,
    )
    assert artist.mbid == "a74b1b7f-71a5-4011-9441-d0b5e4122711"  # canonical lower case
    assert artist.price == 700  # 0.07*1e6 / sqrt(10000) = 70000/100
    assert artist.max_shares == 2  # ceil(0.1*2000*10000/1e6) = ceil(2) = 2
    assert artist.last_close_price == 700
    assert (artist.last_listeners, artist.last_playcount) == (10_000, 1_000_000)
    assert artist.holders == 0
    assert artist.remaining == 2
    assert artist.listed_on == day
    assert history == HistoryPoint(artist.mbid, day, 700, 0, 0)


@pytest.mark.parametrize("mbid", ["", "   "])
def test_an_artist_without_an_mbid_cannot_be_listed(mbid: str) -> None:
    with pytest.raises(NoMbid) as info:
        Artist.list(mbid, "Nameless", 10, 100, 10, 1_000, date(2024, 5, 6))
    assert isinstance(info.value, DataError)
    assert "MusicBrainz" in info.value.message


def test_remaining_shares_are_never_negative() -> None:
    artist, _ = Artist.list(
        "a74b1b7f-71a5-4011-9441-d0b5e4122711", "Radiohead", 10, 100, 10, 1_000, date(2024, 5, 6)
    )
    artist.holders = artist.max_shares + 3
    assert artist.remaining == 0
