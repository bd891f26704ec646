"""Identifier columns compare bytewise: the "C" collation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

MBIDs, player names, quote ids, session key hashes and uids were compared in
the database's default collation (C.UTF-8 on the test server, often a language's
collation elsewhere), which compares text through the C library's locale code.
A trade probes and checks these keys dozens of times (its player, its artist,
the artist of every holding for the net worth, the foreign keys, the indexes of
the rows it writes): compared with memcmp, its read costs the server about a
sixth less (docs/PERFORMANCE.md). Their order becomes byte order, which is
Python's ``sorted()`` order, on every server.
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# Referenced columns before the columns that refer to them.
KEYS = (
    ("leagues", "uid", 32),
    ("players", "name", 64),
    ("players", "league", 32),
    ("artists", "mbid", 36),
    ("holdings", "player", 64),
    ("holdings", "mbid", 36),
    ("trophies", "player", 64),
    ("trophies", "uid", 32),
    ("history", "mbid", 36),
    ("trades", "player", 64),
    ("trades", "mbid", 36),
    ("trades", "quote_id", 64),
    ("ledger", "player", 64),
    ("sessions", "key_hash", 64),
    ("sessions", "player", 64),
    ("server_secrets", "name", 32),
)


def _collate(collation: str) -> None:
    for table, column, length in KEYS:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column}"
            f' TYPE varchar({length}) COLLATE "{collation}"'
        )


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
