"""Price rules of game-rules.md, in ``Decimal`` and rounded exactly as stated.

The buy and sell moves are computed as ``lcp * 0.01 * (10M - 9R) / M**2`` rather
than ``... (10 - 9R/M) / M``: the same number, but with one division last, so a
move that is exactly an integer is never truncated one below it by an inexact
intermediate quotient.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal

ONE = Decimal(1)
LISTING_PRICE_FACTOR = Decimal("0.07")
SHARES_FACTOR = Decimal("0.1")
MOVE_FACTOR = Decimal("0.01")


def round_half_even(value: Decimal) -> int:
    return int(value.quantize(ONE, rounding=ROUND_HALF_EVEN))


def trunc(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def listing_price(listeners: int, playcount: int) -> int:
    """max(1, round(0.07 * S / sqrt(L))); an artist with no listeners lists at 1."""
    if listeners <= 0 or playcount <= 0:
        return 1
    value = LISTING_PRICE_FACTOR * Decimal(playcount) / Decimal(listeners).sqrt()
    return max(1, round_half_even(value))


def max_shares(players: int, listeners: int, top_listeners: int) -> int:
    """max(1, ceil(0.1 * N * L / L_top)); 1 when the chart top is unknown (L_top <= 0)."""
    if top_listeners <= 0 or players <= 0 or listeners <= 0:
        return 1
    value = SHARES_FACTOR * Decimal(players) * Decimal(listeners) / Decimal(top_listeners)
    return max(1, int(value.to_integral_value(rounding=ROUND_CEILING)))


def sell_price(price: int) -> int:
    """round(price * 0.98), half to even. In integers: the trophy check prices
    every holding of a player after each trade, and Decimal cost ten times as much."""
    whole, rest = divmod(price * 98, 100)
    if rest > 50 or (rest == 50 and whole % 2):
        return whole + 1
    return whole


def buy_move(last_close_price: int, remaining: int, shares: int) -> int:
    """trunc(lcp * 0.01 * (10 - 9R/M) / M), R the remaining shares before the buy."""
    numerator = Decimal(last_close_price) * MOVE_FACTOR * (10 * shares - 9 * remaining)
    return trunc(numerator / (Decimal(shares) * shares))


def sell_move(last_close_price: int, remaining: int, shares: int) -> int:
    """trunc(lcp * 0.01 * (1 + 9R/M) / M), R the remaining shares before the sale."""
    numerator = Decimal(last_close_price) * MOVE_FACTOR * (shares + 9 * remaining)
    return trunc(numerator / (Decimal(shares) * shares))


def price_after_buy(price: int, last_close_price: int, remaining: int, shares: int) -> int:
    return price + buy_move(last_close_price, remaining, shares)


def price_after_sell(price: int, last_close_price: int, remaining: int, shares: int) -> int:
    """The price after a sale, never below 1."""
    return max(1, price - sell_move(last_close_price, remaining, shares))
