"""Leaderboards: order, rank, position and the 'near' window."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain.ranking import Standing, leaderboard, near, rank_of


def test_leaderboard_orders_by_points_then_name_and_ties_share_a_rank() -> None:
    board = leaderboard([("carol", 10), ("bob", 30), ("alice", 30), ("dave", 5)])
    assert [(s.name, s.points, s.rank, s.position) for s in board] == [
        ("alice", 30, 0, 1),  # nobody has more than 30
        ("bob", 30, 0, 1),  # tie with alice: same rank, after her by name
        ("carol", 10, 2, 3),  # alice and bob have strictly more -> rank 2
        ("dave", 5, 3, 4),  # three have strictly more -> rank 3
    ]


def test_a_three_way_tie_lists_by_name_with_the_same_rank() -> None:
    board = leaderboard([("c", 7), ("b", 7), ("a", 7), ("z", 9)])
    assert [s.name for s in board] == ["z", "a", "b", "c"]
    assert [s.rank for s in board] == [0, 1, 1, 1]  # z alone has more than 7
    assert [s.position for s in board] == [1, 2, 2, 2]


def test_rank_counts_players_with_strictly_more_points() -> None:
    points = [30, 30, 10, 5]
    assert rank_of(30, points) == 0
    assert rank_of(10, points) == 2  # 30 and 30
    assert rank_of(5, points) == 3
    assert rank_of(100, points) == 0
    assert rank_of(0, points) == 4


def test_position_is_rank_plus_one() -> None:
    assert Standing("alice", 10, 0).position == 1
    assert Standing("bob", 5, 6).position == 7


def test_negative_points_rank_below_zero_points() -> None:
    board = leaderboard([("minus", -3), ("zero", 0)])
    assert [(s.name, s.rank) for s in board] == [("zero", 0), ("minus", 1)]


# A board of 20 players p00..p19 with distinct points, p00 highest.
BOARD = leaderboard([(f"p{i:02d}", 100 - i) for i in range(20)])


def names(standings: list[Standing]) -> list[str]:
    return [s.name for s in standings]


@pytest.mark.parametrize(
    ("player", "expected"),
    [
        ("p00", [f"p{i:02d}" for i in range(0, 6)]),  # top: none above, 5 below
        ("p01", [f"p{i:02d}" for i in range(0, 7)]),  # 1 above, 5 below
        ("p10", [f"p{i:02d}" for i in range(6, 16)]),  # middle: 4 above, 5 below
        ("p17", [f"p{i:02d}" for i in range(13, 20)]),  # 4 above, 2 below
        ("p19", [f"p{i:02d}" for i in range(15, 20)]),  # bottom: 4 above, none below
    ],
)
def test_near_lists_four_players_above_and_five_below(player: str, expected: list[str]) -> None:
    assert names(near(BOARD, player)) == expected


def test_near_on_a_small_board_lists_everyone() -> None:
    board = leaderboard([("a", 3), ("b", 2), ("c", 1)])
    assert names(near(board, "b")) == ["a", "b", "c"]


def test_near_an_unknown_player_is_empty() -> None:
    assert near(BOARD, "nobody") == []


scores = st.dictionaries(
    st.text(min_size=1, max_size=8), st.integers(-1_000, 1_000), min_size=1, max_size=40
)


@given(scores)
def test_every_standing_has_the_rank_the_rules_define(score_map: dict[str, int]) -> None:
    board = leaderboard(list(score_map.items()))
    assert sorted(s.name for s in board) == sorted(score_map)
    all_points = list(score_map.values())
    for s in board:
        assert s.points == score_map[s.name]
        assert s.rank == sum(1 for p in all_points if p > s.points)
        assert s.rank == rank_of(s.points, all_points)
        assert s.position == s.rank + 1
    for upper, lower in itertools.pairwise(board):
        assert (upper.points, lower.name) > (lower.points, upper.name)  # more, or tie by name


@given(scores, st.data())
def test_near_is_the_window_around_the_player_in_board_order(
    score_map: dict[str, int], data: st.DataObject
) -> None:
    board = leaderboard(list(score_map.items()))
    name = data.draw(st.sampled_from(sorted(score_map)))
    index = [s.name for s in board].index(name)
    window = near(board, name)
    at = [s.name for s in window].index(name)
    assert at == min(4, index)
    assert len(window) - at - 1 == min(5, len(board) - index - 1)
    assert window == board[index - at : index - at + len(window)]
