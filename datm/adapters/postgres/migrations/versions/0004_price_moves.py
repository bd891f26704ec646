"""The price moves of a buy and a sale, as SQL functions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

A trade applies its move to the artist's row as it is at commit, so the row is
locked only inside the trade's last statement and not across a client round
trip (see adapters/postgres/unit_of_work.py). The functions mirror
``datm.domain.pricing.buy_move`` and ``sell_move`` exactly: for the positive
integers involved, bigint division truncates as ``trunc`` of the exact quotient
does; ``tests/integration/test_price_moves_in_sql.py`` checks them against the
domain over many values.
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # trunc(lcp * 0.01 * (10M - 9R) / M^2) and trunc(lcp * 0.01 * (M + 9R) / M^2)
    op.execute(
        """
        CREATE FUNCTION datm_buy_move(last_close_price bigint, remaining bigint, shares bigint)
        RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
            SELECT ($1 * (10 * $3 - 9 * $2)) / (100 * $3 * $3)
        $fn$
        """
    )
    op.execute(
        """
        CREATE FUNCTION datm_sell_move(last_close_price bigint, remaining bigint, shares bigint)
        RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
            SELECT ($1 * ($3 + 9 * $2)) / (100 * $3 * $3)
        $fn$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION datm_sell_move(bigint, bigint, bigint)")
    op.execute("DROP FUNCTION datm_buy_move(bigint, bigint, bigint)")
