"""A quote executes once: a unique index on the trade that used it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Every executed quote already leaves a trade carrying its id, so the separate
``used_quotes`` table cost each trade a row and two index entries for nothing
the trade record could not say, and it was never pruned. The used-quote check
now looks the id up among the trades; the unique index refuses a second
execution racing the first.
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

CHECK = """
CREATE OR REPLACE FUNCTION datm_require_quote_unused(quote_id text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM {source} WHERE {column} = $1) THEN
        RAISE EXCEPTION 'quote used' USING ERRCODE = 'DM002';
    END IF;
END $fn$
"""


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX ux_trades_quote_id ON trades (quote_id) WHERE quote_id <> ''")
    op.execute(CHECK.format(source="trades", column="trades.quote_id"))
    op.drop_table("used_quotes")


def downgrade() -> None:
    op.execute(
        "CREATE TABLE used_quotes (id VARCHAR(64) NOT NULL, expires_at TIMESTAMPTZ NOT NULL,"
        " CONSTRAINT pk_used_quotes PRIMARY KEY (id))"
    )
    op.execute("CREATE INDEX ix_used_quotes_expires_at ON used_quotes (expires_at)")
    # The trades' quotes stay refused: their expiry is long past for any that matter.
    op.execute(
        "INSERT INTO used_quotes (id, expires_at) SELECT quote_id, max(at) FROM trades"
        " WHERE quote_id <> '' GROUP BY quote_id"
    )
    op.execute(CHECK.format(source="used_quotes", column="used_quotes.id"))
    op.drop_index("ux_trades_quote_id", table_name="trades")
