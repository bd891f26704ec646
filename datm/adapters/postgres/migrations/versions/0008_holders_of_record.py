"""The close pays holders of record: the cut-off and what it fixed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The close no longer keeps the market locked while it fetches last.fm's numbers
(hours at full size). It fixes the holders of record at a short cut-off
(``close_holders``), each listed artist's price and previous numbers
(``close_artists``), N, L_top and the reset sequence's value (``closes``), fetches
the numbers with the market open, storing each as it arrives, and pays in large
set-based batches. A reset or departure takes a number from ``player_resets``
into ``players.reset_seq``: a holder of record whose number is past the cut-off's
mark reset since, and is not paid.
A close started before this revision and left unfinished is taken up again from a
new cut-off; its ``paid_from`` is its start, as the old close counted it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)
CLOSE_COLUMNS = (
    ("cut_off_at", TS),
    ("players", sa.BigInteger()),
    ("top_listeners", sa.BigInteger()),
    ("paid_from", TS),
    ("reset_mark", sa.BigInteger()),
    ("holdings", sa.BigInteger()),
    ("holders_paid", sa.BigInteger()),
    ("holders_paid_through", sa.String(length=64, collation="C")),
)


# domain.pricing.sell_price (round half to even of price x 0.98) for the close's
# trophy check, which prices every holding of the holders it pays.
SELL_PRICE = """
    CREATE FUNCTION datm_sell_price(price bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (price * 98) / 100 + CASE
            WHEN (price * 98) % 100 > 50 THEN 1
            WHEN (price * 98) % 100 = 50 AND ((price * 98) / 100) % 2 = 1 THEN 1
            ELSE 0 END
    $$
"""


def upgrade() -> None:
    op.execute(SELL_PRICE)
    for name, kind in CLOSE_COLUMNS:
        op.add_column("closes", sa.Column(name, kind, nullable=True))
    op.execute("UPDATE closes SET paid_from = started_at")
    op.execute("CREATE SEQUENCE player_resets")
    op.add_column(
        "players", sa.Column("reset_seq", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_table(
        "close_artists",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("mbid", sa.String(length=36, collation="C"), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("last_listeners", sa.BigInteger(), nullable=False),
        sa.Column("last_playcount", sa.BigInteger(), nullable=False),
        sa.Column("listeners", sa.BigInteger(), nullable=True),
        sa.Column("playcount", sa.BigInteger(), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("dividend", sa.BigInteger(), nullable=True),
        sa.Column("max_shares", sa.Integer(), nullable=True),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("paid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("day", "mbid", name=op.f("pk_close_artists")),
    )
    # Room for its two updates per row to be HOT (tables.py says why).
    op.execute("ALTER TABLE close_artists SET (fillfactor = 30)")
    op.create_table(
        "close_holders",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("player", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("mbid", sa.String(length=36, collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("day", "player", "mbid", name=op.f("pk_close_holders")),
    )


def downgrade() -> None:
    op.drop_table("close_holders")
    op.drop_table("close_artists")
    op.drop_column("players", "reset_seq")
    op.execute("DROP SEQUENCE player_resets")
    for name, _ in reversed(CLOSE_COLUMNS):
        op.drop_column("closes", name)
    op.execute("DROP FUNCTION datm_sell_price(bigint)")
