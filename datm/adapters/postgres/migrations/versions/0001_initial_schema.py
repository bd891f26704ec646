"""Initial schema: the game's tables, their invariant guards, and the three leagues.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out in full rather than built from ``tables.metadata``, so this revision
stays what it was when later ones change the mapping. Constraint and index names
are the ones the naming convention in ``tables.py`` gives (``op.f`` keeps them
as written), so ``datm.adapters.postgres.migrate.schema_differences`` is empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)

# As datm.domain.leagues.SEEDED_LEAGUES was at this revision (a test checks they agree).
LEAGUES = [
    {"uid": "bronze", "name": "Bronze", "rank": 1},
    {"uid": "silver", "name": "Silver", "rank": 2},
    {"uid": "gold", "name": "Gold", "rank": 3},
]

TABLES = (
    "leagues",
    "players",
    "artists",
    "holdings",
    "trophies",
    "history",
    "trades",
    "ledger",
    "used_quotes",
    "sessions",
    "closes",
    "server_secrets",
)


def upgrade() -> None:
    leagues = op.create_table(
        "leagues",
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_leagues")),
    )
    op.bulk_insert(leagues, LEAGUES)

    op.create_table(
        "players",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("league", sa.String(length=32), nullable=False),
        sa.Column("money", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("trades_made", sa.Integer(), server_default="0", nullable=False),
        sa.Column("points_all_time", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_daily", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_weekly", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_monthly", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_day", sa.Date(), nullable=True),
        sa.CheckConstraint("money >= 0", name=op.f("ck_players_money_not_negative")),
        sa.ForeignKeyConstraint(
            ["league"], ["leagues.uid"], name=op.f("fk_players_league_leagues")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_players")),
    )
    op.create_index(op.f("ix_players_league"), "players", ["league"])

    op.create_table(
        "artists",
        sa.Column("mbid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("max_shares", sa.Integer(), nullable=False),
        sa.Column("holders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_close_price", sa.BigInteger(), nullable=False),
        sa.Column("last_listeners", sa.BigInteger(), nullable=False),
        sa.Column("last_playcount", sa.BigInteger(), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("last_closed_on", sa.Date(), nullable=True),
        sa.CheckConstraint("price >= 1", name=op.f("ck_artists_price_at_least_one")),
        sa.CheckConstraint("max_shares >= 1", name=op.f("ck_artists_max_shares_at_least_one")),
        sa.CheckConstraint(
            "holders >= 0 AND holders <= max_shares",
            name=op.f("ck_artists_remaining_not_negative"),
        ),
        sa.CheckConstraint("mbid = lower(mbid)", name=op.f("ck_artists_mbid_canonical")),
        sa.PrimaryKeyConstraint("mbid", name=op.f("pk_artists")),
    )
    op.create_index(op.f("ix_artists_price"), "artists", ["price"])

    op.create_table(
        "holdings",
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("mbid", sa.String(length=36), nullable=False),
        sa.Column("price_paid", sa.BigInteger(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["player"],
            ["players.name"],
            name=op.f("fk_holdings_player_players"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["mbid"], ["artists.mbid"], name=op.f("fk_holdings_mbid_artists")),
        sa.PrimaryKeyConstraint("player", "mbid", name=op.f("pk_holdings")),
    )
    op.create_index(op.f("ix_holdings_mbid"), "holdings", ["mbid"])

    op.create_table(
        "trophies",
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("awarded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["player"],
            ["players.name"],
            name=op.f("fk_trophies_player_players"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("player", "uid", name=op.f("pk_trophies")),
    )

    op.create_table(
        "history",
        sa.Column("mbid", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("dividend", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["mbid"], ["artists.mbid"], name=op.f("fk_history_mbid_artists")),
        sa.PrimaryKeyConstraint("mbid", "day", name=op.f("pk_history")),
    )

    op.create_table(
        "trades",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("player", sa.String(length=64), nullable=True),
        sa.Column("mbid", sa.String(length=36), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("quote_id", sa.String(length=64), server_default="", nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_trades_side_known")),
        sa.CheckConstraint("price >= 1", name=op.f("ck_trades_price_at_least_one")),
        sa.ForeignKeyConstraint(
            ["player"],
            ["players.name"],
            name=op.f("fk_trades_player_players"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["mbid"], ["artists.mbid"], name=op.f("fk_trades_mbid_artists")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    op.create_index(op.f("ix_trades_player_id"), "trades", ["player", "id"])
    op.create_index(op.f("ix_trades_at"), "trades", ["at"])
    op.create_index(op.f("ix_trades_mbid_side"), "trades", ["mbid", "side"])

    op.create_table(
        "ledger",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("reference", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["player"],
            ["players.name"],
            name=op.f("fk_ledger_player_players"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
    )
    op.create_index(op.f("ix_ledger_player_id"), "ledger", ["player", "id"])

    op.create_table(
        "used_quotes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_quotes")),
    )
    op.create_index(op.f("ix_used_quotes_expires_at"), "used_quotes", ["expires_at"])

    op.create_table(
        "sessions",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("lastfm_key", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["player"],
            ["players.name"],
            name=op.f("fk_sessions_player_players"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_player"), "sessions", ["player"])

    op.create_table(
        "closes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("artists_closed", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_closes")),
    )

    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )


def downgrade() -> None:
    # Children before parents; a table's indexes, constraints and sequences go with it.
    for table in reversed(TABLES):
        op.drop_table(table)
