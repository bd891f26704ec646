"""Trophies: data with a rule each, awarded once when the rule first holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from datm.domain import pricing
from datm.domain.player import Player


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


def award_earned(player: Player, held_prices: Iterable[int], at: datetime) -> tuple[str, ...]:
    """Award ``player`` what it newly earned, its held artists at ``held_prices``
    (their buy prices now); the uids of the new trophies."""
    worth = net_worth(player.money, [pricing.sell_price(price) for price in held_prices])
    standing = Standing(player.trades_made, len(player.holdings), worth)
    new = earned(standing, frozenset(player.trophies))
    return tuple(t.uid for t in new if player.award(t.uid, at))
