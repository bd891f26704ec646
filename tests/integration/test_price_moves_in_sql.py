"""The price moves in SQL (revision 0004) equal the domain's, value for value.

A trade on Postgres applies its move to the artist's row at commit with these
functions, so they must agree with ``datm.domain.pricing`` everywhere the game
can reach: any last close price, any number of shares, any remaining count.
"""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402

from datm.domain import pricing  # noqa: E402

LAST_CLOSE = st.integers(min_value=1, max_value=10**9)
SHARES = st.integers(min_value=1, max_value=10**6)


@pytest.fixture(scope="module")
def cursor() -> Iterator[psycopg2.extensions.cursor]:
    with postgres_support.migrated_cursor("datm_price_moves") as cur:
        yield cur


def moves(
    cur: psycopg2.extensions.cursor, lcp: int, remaining: int, shares: int
) -> tuple[int, int]:
    cur.execute(
        "SELECT datm_buy_move(%s, %s, %s), datm_sell_move(%s, %s, %s)",
        (lcp, remaining, shares) * 2,
    )
    buy, sell = cur.fetchone()
    return int(buy), int(sell)


@settings(max_examples=500, deadline=None)
@given(lcp=LAST_CLOSE, shares=SHARES, data=st.data())
def test_the_sql_moves_equal_the_domain_moves(
    cursor: psycopg2.extensions.cursor, lcp: int, shares: int, data: st.DataObject
) -> None:
    remaining = data.draw(st.integers(min_value=0, max_value=shares), label="remaining")

    assert moves(cursor, lcp, remaining, shares) == (
        pricing.buy_move(lcp, remaining, shares),
        pricing.sell_move(lcp, remaining, shares),
    )


@pytest.mark.parametrize(
    ("lcp", "remaining", "shares"),
    [(100, 10, 10), (100, 0, 10), (1, 1, 1), (10**9, 10**6, 10**6), (999_999, 3, 7)],
)
def test_edges_of_the_range_agree_too(
    cursor: psycopg2.extensions.cursor, lcp: int, remaining: int, shares: int
) -> None:
    assert moves(cursor, lcp, remaining, shares) == (
        pricing.buy_move(lcp, remaining, shares),
        pricing.sell_move(lcp, remaining, shares),
    )
