"""The foreign keys from holdings and trades to artists are checked at COMMIT.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

A trade locks its artist's row last, with the statement that applies its move
just before COMMIT. Checked at each insert, the keys of the trade's holding and
trade rows took a FOR KEY SHARE lock on that row first, so every concurrent
buyer of a hot artist joined a multixact on it: 0.1-0.25 ms more server CPU a
trade there (docs/PERFORMANCE.md). Checked at COMMIT, after the move, they find
the row locked by their own transaction. A missing artist is still refused; the
refusal comes with the COMMIT.
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

KEYS = (("holdings", "fk_holdings_mbid_artists"), ("trades", "fk_trades_mbid_artists"))


def upgrade() -> None:
    for table, key in KEYS:
        op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {key} DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    for table, key in KEYS:
        op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {key} NOT DEFERRABLE")
