"""Market reads at full size: trades summarised per complete day, row counts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

``trade_days`` and ``trade_day_artists`` summarise the trades of one complete UTC
day (all trades, buys, buys per artist); ``trade_windows`` ranks the artists by
buys over a run of complete days; reads write them lazily, set-based
(``adapters/postgres/market_reads.py``): a day's trades are never counted twice.
``row_counts`` holds the numbers of players and listed artists as rows added by
statement-level triggers (one row per inserting or deleting statement, no row
that two transactions update), summed and compacted by the reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String(length=36, collation="C")
COUNTED = ("players", "artists")

COUNT_FUNCTION = """
    CREATE FUNCTION datm_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO row_counts (counted, delta)
                SELECT TG_TABLE_NAME, count(*) FROM new_rows HAVING count(*) > 0;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO row_counts (counted, delta)
                SELECT TG_TABLE_NAME, -count(*) FROM old_rows HAVING count(*) > 0;
        ELSE
            DELETE FROM row_counts WHERE counted = TG_TABLE_NAME;
        END IF;
        RETURN NULL;
    END $$
"""


def upgrade() -> None:
    op.create_table(
        "trade_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("trades", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_trade_days")),
    )
    op.create_table(
        "trade_day_artists",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("mbid", KEY, nullable=False),
        sa.Column("buys", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "mbid", name=op.f("pk_trade_day_artists")),
    )
    op.create_table(
        "trade_windows",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("mbid", KEY, nullable=False),
        sa.Column("buys", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("first_day", "last_day", "mbid", name=op.f("pk_trade_windows")),
    )
    op.create_index(
        "ix_trade_windows_first_day_last_day_buys_mbid",
        "trade_windows",
        ["first_day", "last_day", sa.text("buys DESC"), "mbid"],
    )
    op.create_table(
        "trade_windows_built",
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("first_day", "last_day", name=op.f("pk_trade_windows_built")),
    )
    op.create_table(
        "row_counts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("counted", sa.String(length=32, collation="C"), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_row_counts")),
    )
    op.create_index("ix_row_counts_counted", "row_counts", ["counted"])
    op.execute(COUNT_FUNCTION)
    for table in COUNTED:
        op.execute(
            f"INSERT INTO row_counts (counted, delta)"
            f" SELECT '{table}', count(*) FROM {table} HAVING count(*) > 0"
        )
        op.execute(
            f"CREATE TRIGGER datm_count_inserts AFTER INSERT ON {table}"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION datm_count_rows()"
        )
        op.execute(
            f"CREATE TRIGGER datm_count_deletes AFTER DELETE ON {table}"
            " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION datm_count_rows()"
        )
        op.execute(
            f"CREATE TRIGGER datm_count_truncates AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION datm_count_rows()"
        )


def downgrade() -> None:
    for table in COUNTED:
        for trigger in ("datm_count_truncates", "datm_count_deletes", "datm_count_inserts"):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION datm_count_rows()")
    op.drop_index("ix_row_counts_counted", table_name="row_counts")
    op.drop_table("row_counts")
    op.drop_table("trade_windows_built")
    op.drop_index("ix_trade_windows_first_day_last_day_buys_mbid", table_name="trade_windows")
    op.drop_table("trade_windows")
    op.drop_table("trade_day_artists")
    op.drop_table("trade_days")
