"""Leaderboard order, rank and the 'near' window of game-rules.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NEAR_ABOVE = 4
NEAR_BELOW = 5


@dataclass(frozen=True, slots=True)
class Standing:
    """One player's place on one league's board for one period."""

    name: str
    points: int
    rank: int

    @property
    def position(self) -> int:
        return self.rank + 1


def leaderboard(scores: Sequence[tuple[str, int]]) -> list[Standing]:
    """Highest points first, ties by name; rank = players with strictly more points."""
    ordered = sorted(scores, key=lambda s: (-s[1], s[0]))
    standings: list[Standing] = []
    for index, (name, points) in enumerate(ordered):
        rank = standings[-1].rank if standings and standings[-1].points == points else index
        standings.append(Standing(name, points, rank))
    return standings


def rank_of(points: int, all_points: Sequence[int]) -> int:
    return sum(1 for other in all_points if other > points)


def near(board: Sequence[Standing], name: str) -> list[Standing]:
    """The player with up to 4 players above and 5 below, in board order."""
    for index, standing in enumerate(board):
        if standing.name == name:
            return list(board[max(0, index - NEAR_ABOVE) : index + NEAR_BELOW + 1])
    return []
