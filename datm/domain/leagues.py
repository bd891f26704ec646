"""Leagues: data, seeded with bronze, silver and gold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class League:
    uid: str
    name: str
    rank: int


DEFAULT_LEAGUE = "bronze"
SEEDED_LEAGUES: tuple[League, ...] = (
    League("bronze", "Bronze", 1),
    League("silver", "Silver", 2),
    League("gold", "Gold", 3),
)
