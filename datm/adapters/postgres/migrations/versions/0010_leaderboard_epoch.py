"""The leaderboards' read model: the database's epoch.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

The leagues' boards are kept in Redis, in step with every write that moves a
player (``adapters/redis/leaderboard.py``). A write that cannot reach Redis takes a
number from ``board_epoch`` first; a model built at an earlier number is not used
until it is built again. Anyone who changes players behind datm's back (SQL by
hand, a restore) does the same: ``SELECT nextval('board_epoch')``.
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE board_epoch")


def downgrade() -> None:
    op.execute("DROP SEQUENCE board_epoch")
