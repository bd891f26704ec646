"""Market reads without a pass over the day's trades: summaries up to a mark.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Revision 0009 summarised complete days only, so every read counted the current
day's trades from ``trades`` (up to ~500,000 at full size). Now the summaries
reach a *mark*, a timestamp at most ``SETTLE`` plus one chunk (minutes) before
the read, and a read counts only the trades after it
(``adapters/postgres/trade_summaries.py``):

- ``trade_days.through``: NULL for a complete day (as before); otherwise the row
  is a part of a day not yet complete, the trades of the day before ``through``.
- ``trade_windows`` is keyed by its first day alone: each artist's buys from that
  day's start up to the window's mark, ``trade_windows_built.through``, which a
  read moves forward by adding the buys of the span it passes.

The summaries are derived data: both directions empty the windows and drop the
day parts, and reads write them again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String(length=36, collation="C")
TS = sa.DateTime(timezone=True)
OLD_INDEX = "ix_trade_windows_first_day_last_day_buys_mbid"
NEW_INDEX = "ix_trade_windows_first_day_buys_mbid"


# The windows are made again rather than altered: they are emptied anyway, and a
# dropped column would leave a gap in the columns' positions (create_all's have none).
def _drop_windows(index: str) -> None:
    op.drop_index(index, table_name="trade_windows")
    op.drop_table("trade_windows")
    op.drop_table("trade_windows_built")


def _windows(key: list[str], last: list[sa.Column[object]], index: str) -> None:
    op.create_table(
        "trade_windows",
        sa.Column("first_day", sa.Date(), nullable=False),
        *[sa.Column(c.name, c.type, nullable=False) for c in last],
        sa.Column("mbid", KEY, nullable=False),
        sa.Column("buys", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, "mbid", name=op.f("pk_trade_windows")),
    )
    op.create_index(index, "trade_windows", [*key, sa.text("buys DESC"), "mbid"])


def upgrade() -> None:
    _drop_windows(OLD_INDEX)
    _windows(["first_day"], [], NEW_INDEX)
    op.create_table(
        "trade_windows_built",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("through", TS, nullable=False),
        sa.PrimaryKeyConstraint("first_day", name=op.f("pk_trade_windows_built")),
    )
    op.add_column("trade_days", sa.Column("through", TS, nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM trade_days WHERE through IS NOT NULL")
    op.drop_column("trade_days", "through")
    _drop_windows(NEW_INDEX)
    _windows(["first_day", "last_day"], [sa.Column("last_day", sa.Date())], OLD_INDEX)
    op.create_table(
        "trade_windows_built",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("first_day", "last_day", name=op.f("pk_trade_windows_built")),
    )
