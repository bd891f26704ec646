"""Expected values straight from game-rules.md, written independently of datm.domain.

The contract tests compare what the services return with these, so a formula
that drifted in datm.domain fails here. ``Decimal`` for square roots, exact
``Fraction`` wherever the rules truncate; "round" is round half to even.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

STARTING_MONEY = 20_000
DEFAULT_LEAGUE = "bronze"
QUOTE_VALIDITY_SECONDS = 15


def round_half_even(value: Decimal | Fraction) -> int:
    if isinstance(value, Fraction):
        return round(value)  # Fraction.__round__ rounds half to even
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _sqrt(value: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(value).sqrt()


def listing_price(listeners: int, playcount: int) -> int:
    """max(1, round(0.07 * S / sqrt(L)))."""
    if listeners <= 0:
        return 1
    with localcontext() as ctx:
        ctx.prec = 60
        return max(1, round_half_even(Decimal("0.07") * playcount / _sqrt(listeners)))


def max_shares(players: int, listeners: int, top_listeners: int) -> int:
    """max(1, ceil(0.1 * N * L / L_top))."""
    if top_listeners <= 0:
        return 1
    return max(1, math.ceil(Fraction(players * listeners, 10 * top_listeners)))


def players_for_shares(shares: int, listeners: int, top_listeners: int) -> int:
    """The fewest players N with max_shares(N, L, L_top) >= shares."""
    players = 1
    while max_shares(players, listeners, top_listeners) < shares:
        players += 1
    return players


def sell_price(price: int) -> int:
    """round(price * 0.98)."""
    return round_half_even(Fraction(price) * Fraction(98, 100))


def _trunc(value: Fraction) -> int:
    return math.trunc(value)


def price_after_buy(price: int, last_close: int, remaining: int, shares: int) -> int:
    """price + trunc(lcp * 0.01 * (10 - 9R/M) / M), R remaining before the buy."""
    move = Fraction(last_close, 100) * (10 - Fraction(9 * remaining, shares)) / shares
    return price + _trunc(move)


def price_after_sell(price: int, last_close: int, remaining: int, shares: int) -> int:
    """price - trunc(lcp * 0.01 * (1 + 9R/M) / M), never below 1."""
    move = Fraction(last_close, 100) * (1 + Fraction(9 * remaining, shares)) / shares
    return max(1, price - _trunc(move))


def close_points(delta_listeners: int, delta_playcount: int) -> int:
    """round(0.0005 * dS + 0.05 * dL)."""
    return round_half_even(
        Fraction(5, 10_000) * delta_playcount + Fraction(5, 100) * delta_listeners
    )


def close_dividend(delta_listeners: int, delta_playcount: int) -> int:
    """round(0.01 * (3 * sqrt(max(0, dS)) + 0.05 * max(0, dL)))."""
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal("0.01") * (
            3 * _sqrt(max(0, delta_playcount)) + Decimal("0.05") * max(0, delta_listeners)
        )
        return round_half_even(value)


def period_of(days: int) -> str:
    """1 -> daily, 2..7 -> weekly, 8..31 -> monthly, 0 or more than 31 -> all time."""
    if days == 1:
        return "daily"
    if 2 <= days <= 7:
        return "weekly"
    if 8 <= days <= 31:
        return "monthly"
    return "all_time"


def leaderboard(scores: dict[str, int]) -> list[tuple[int, str, int]]:
    """(position, name, points): highest first, ties by name; position = 1 + the
    number of players with strictly more points."""
    ordered = sorted(scores.items(), key=lambda s: (-s[1], s[0]))
    return [
        (1 + sum(1 for other in scores.values() if other > points), name, points)
        for name, points in ordered
    ]
