"""Trophies: data with a rule each, awarded once when the rule first holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Standing:
    """What trophy rules look at, gathered after a trade or at a close."""

    trades: int
    holdings: int
    net_worth: int


@dataclass(frozen=True, slots=True)
class Trophy:
    uid: str
    name: str
    description: str
    icon: str


COLLECTOR_HOLDINGS = 10
TYCOON_NET_WORTH = 50_000

_RULES: dict[str, tuple[Trophy, Callable[[Standing], bool]]] = {
    "first_trade": (
        Trophy("first_trade", "First trade", "Made a first trade", "trophy-first-trade"),
        lambda s: s.trades >= 1,
    ),
    "collector": (
        Trophy("collector", "Collector", "Holds 10 artists at once", "trophy-collector"),
        lambda s: s.holdings >= COLLECTOR_HOLDINGS,
    ),
    "tycoon": (
        Trophy("tycoon", "Tycoon", "Net worth of 50,000 or more", "trophy-tycoon"),
        lambda s: s.net_worth >= TYCOON_NET_WORTH,
    ),
}

DEFAULT_TROPHIES: tuple[Trophy, ...] = tuple(trophy for trophy, _ in _RULES.values())


def trophy(uid: str) -> Trophy:
    return _RULES[uid][0]


def earned(standing: Standing, already: set[str] | frozenset[str]) -> list[Trophy]:
    """Trophies whose rule holds now and that the player does not have yet."""
    return [t for t, rule in _RULES.values() if t.uid not in already and rule(standing)]


def net_worth(money: int, sell_prices: list[int]) -> int:
    return money + sum(sell_prices)
