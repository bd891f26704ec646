"""Functions for the checks that ride in front of a trade's statements.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The market gate and the used-quote check raise with their own SQLSTATE (DM001,
DM002), which datm translates into MarketClosed and QuoteInvalid. As functions
their PL/pgSQL is compiled once per connection instead of once per trade.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION datm_require_market_open(lock_key bigint) RETURNS void
        LANGUAGE plpgsql AS $fn$
        BEGIN
            IF NOT pg_try_advisory_xact_lock_shared(lock_key) THEN
                RAISE EXCEPTION 'market closed' USING ERRCODE = 'DM001';
            END IF;
        END $fn$
        """
    )
    op.execute(
        """
        CREATE FUNCTION datm_require_quote_unused(quote_id text) RETURNS void
        LANGUAGE plpgsql AS $fn$
        BEGIN
            IF EXISTS (SELECT 1 FROM used_quotes WHERE id = quote_id) THEN
                RAISE EXCEPTION 'quote used' USING ERRCODE = 'DM002';
            END IF;
        END $fn$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION datm_require_quote_unused(text)")
    op.execute("DROP FUNCTION datm_require_market_open(bigint)")
