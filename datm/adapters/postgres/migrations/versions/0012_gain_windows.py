"""The market's tops at full size: by price down one index, and by gain.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``ix_artists_price_mbid`` (price descending, then MBID) replaces ``ix_artists_price``:
top by price reads its first rows, where the old index left ties to a sort of every
artist.

An artist's gain over a window is its price now less its first closing price in the
window. It is the sum of two parts: its last closing price less that first price,
which only a close changes (``gain_windows``, written per window by the first read
after a close, ``adapters/postgres/rankings.py``), and its move since the
last close, price less last closing price, which trades change: the partial index
``ix_artists_moved`` holds only the artists that moved, by their move. The read walks
both orders down together until no artist it has not seen can beat its top.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String(length=36, collation="C")


def upgrade() -> None:
    op.drop_index("ix_artists_price", table_name="artists")
    op.create_index("ix_artists_price_mbid", "artists", [sa.text("price DESC"), "mbid"])
    op.create_table(
        "gain_windows",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("mbid", KEY, nullable=False),
        sa.Column("gain", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "first_day", "closed_through", "mbid", name=op.f("pk_gain_windows")
        ),
    )
    op.create_index(
        "ix_gain_windows_first_day_closed_through_gain_mbid",
        "gain_windows",
        ["first_day", "closed_through", sa.text("gain DESC"), "mbid"],
    )
    op.create_table(
        "gain_windows_built",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("first_day", "closed_through", name=op.f("pk_gain_windows_built")),
    )
    op.execute(
        "CREATE INDEX ix_artists_moved ON artists ((price - last_close_price) DESC, mbid)"
        " WHERE price <> last_close_price"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_artists_moved")
    op.drop_table("gain_windows_built")
    op.drop_index("ix_gain_windows_first_day_closed_through_gain_mbid", table_name="gain_windows")
    op.drop_table("gain_windows")
    op.drop_index("ix_artists_price_mbid", table_name="artists")
    op.create_index("ix_artists_price", "artists", ["price"])
