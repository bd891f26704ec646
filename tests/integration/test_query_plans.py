"""The trade's statements read indexes, not whole tables, in the plans they keep.

Postgres plans a prepared statement (and each query of a PL/pgSQL function)
generically after a few runs. A generic plan knows no parameter values, so it
cannot use a partial index whose predicate it cannot prove: the used-quote check
once scanned every trade on every trade. These tests force generic plans on a
database holding thousands of trades and count what each statement scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402

from datm.adapters.postgres import (  # noqa: E402
    artists,
    hot_sql,
    market_reads,
    players,
    rankings,
    records,
    trade_writes,
)
from datm.adapters.postgres.prepared import Prepared  # noqa: E402

TRADES = 5000
SEEDED = f"""
INSERT INTO players (name, league, money, created_at)
    SELECT 'p' || i, (SELECT uid FROM leagues ORDER BY rank LIMIT 1), 20000, now()
    FROM generate_series(1, 2000) AS i;
INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,
                     last_listeners, last_playcount, listed_on)
    SELECT md5('a' || i)::uuid::text, 'artist ' || i, 100, 1000, 0, 100, 1, 1, current_date
    FROM generate_series(1, 2000) AS i;
INSERT INTO trades (player, mbid, side, price, at, quote_id)
    SELECT 'p' || (1 + i % 50), md5('a' || (1 + i % 200))::uuid::text, 'buy', 100, now(),
           md5('q' || i)
    FROM generate_series(1, {TRADES}) AS i;
INSERT INTO trades (player, mbid, side, price, at) SELECT 'p1', md5('a1')::uuid::text,
    'sell', 100, now() FROM generate_series(1, 100);  -- no quote: ''
INSERT INTO holdings (player, mbid, price_paid, since)
    SELECT 'p' || i, md5('a' || j)::uuid::text, 100, now()
    FROM generate_series(1, 2000) AS i, generate_series(1, 5) AS j;
INSERT INTO trophies (player, uid, awarded_at)
    SELECT 'p' || i, 'trophy-' || j, now()
    FROM generate_series(1, 2000) AS i, generate_series(1, 3) AS j;
INSERT INTO sessions (key_hash, player, lastfm_key, created_at)
    SELECT md5('s' || i), 'p' || i, 'key', now() FROM generate_series(1, 2000) AS i;
INSERT INTO ledger (player, amount, kind, at)
    SELECT 'p' || (1 + i % 2000), -100, 'buy', now() FROM generate_series(1, 5000) AS i;
ANALYZE;
"""


TABLES = ("players", "artists", "holdings", "trophies", "trades", "ledger", "sessions")


def prepared_statements() -> list[Prepared]:
    modules = (hot_sql, players, records, artists, rankings, market_reads)
    found = {s.name: s for m in modules for s in vars(m).values() if isinstance(s, Prepared)}
    for columns in (("money", "trades_made"), players._UPDATABLE):  # made on demand
        update = players.update_player(columns)
        found[update.name] = update
    found.update({fused.name: fused for fused in trade_writes.FUSED.values()})
    return [found[name] for name in sorted(found)]


@pytest.fixture(scope="module")
def cursor() -> Iterator[psycopg2.extensions.cursor]:
    with postgres_support.migrated_cursor("datm_plans", SEEDED) as cur:
        yield cur


def scans_of(cur: psycopg2.extensions.cursor, table: str) -> tuple[int, int]:
    """Sequential and index scans of ``table`` in this transaction so far."""
    cur.execute(
        "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = %s",
        (table,),
    )
    seq, idx = cur.fetchone()
    return int(seq), int(idx)


def test_the_used_quote_check_reads_the_unique_index_under_a_generic_plan(
    cursor: psycopg2.extensions.cursor,
) -> None:
    cursor.execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        for n in range(10):
            cursor.execute("SELECT datm_require_quote_unused(%s)", (f"fresh-{n}",))
        with pytest.raises(psycopg2.Error) as used:
            cursor.execute("SAVEPOINT s; SELECT datm_require_quote_unused(md5('q7'))")
        assert used.value.pgcode == "DM002"  # still refuses a used quote
        cursor.execute("ROLLBACK TO SAVEPOINT s")

        seq, idx = scans_of(cursor, "trades")
    finally:
        cursor.execute("ROLLBACK")
    assert seq == 0, f"the check scanned the trades table {seq} times"
    assert idx >= 11


@pytest.mark.parametrize("statement", prepared_statements(), ids=lambda s: s.name)
def test_each_prepared_statement_reads_by_index_under_a_generic_plan(
    cursor: psycopg2.extensions.cursor, statement: Prepared
) -> None:
    arguments = ", ".join(["NULL"] * statement.execute.count("%("))  # a generic plan ignores them
    cursor.execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        cursor.execute(statement.prepare)
        cursor.execute(f"EXPLAIN EXECUTE {statement.name}({arguments})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        cursor.execute("ROLLBACK")
        cursor.execute(f"DEALLOCATE {statement.name}")  # a rollback keeps it
    scanned = [t for t in TABLES if re.search(rf"Seq Scan on {t}\b", plan)]
    assert not scanned, f"{statement.name} scans {scanned} whole:\n{plan}"
