"""The used-quote check reads the partial unique index, whatever the plan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

``ux_trades_quote_id`` is partial (``WHERE quote_id <> ''``: trades made without
a quote carry ''). PL/pgSQL caches a generic plan for the check's query after a
few calls, and a generic plan of ``quote_id = $1`` cannot prove ``$1 <> ''``, so
it may not use the partial index: every trade then scanned the whole trades
table (seen at 0.6 ms and growing with the table). Stating the index's predicate
in the query lets every plan use it.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

CHECK = """
CREATE OR REPLACE FUNCTION datm_require_quote_unused(quote_id text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM trades WHERE trades.quote_id = $1 {predicate}) THEN
        RAISE EXCEPTION 'quote used' USING ERRCODE = 'DM002';
    END IF;
END $fn$
"""


def upgrade() -> None:
    op.execute(CHECK.format(predicate="AND trades.quote_id <> ''"))


def downgrade() -> None:
    op.execute(CHECK.format(predicate=""))
