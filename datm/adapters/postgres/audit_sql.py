"""The audit's checks on Postgres: one aggregate statement each over the whole game.

Each statement counts every row it checks and gathers the mismatches into
aligned arrays, ordered by key, in the same pass (FILTER: only mismatches are
sorted): one scan of the players and one of the ledger for money, one of the
artists and one of the holdings for shares, however many players. One statement
is one snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, TextClause, text

from datm.adapters.postgres import schema_check
from datm.adapters.postgres.errors import translated
from datm.domain.player import STARTING_MONEY
from datm.ports.audit import AuditChecks, MoneyCheck, MoneyMismatch, ShareCheck, ShareMismatch


def _check(fields: Sequence[str], key: str, rows: str, bad: str) -> TextClause:
    """count(*) of ``rows``, then one array per field of the rows where ``bad``."""
    arrays = ", ".join(f"array_agg({f} ORDER BY {key}) FILTER (WHERE {bad})" for f in fields)
    return text(f"SELECT count(*), {arrays} FROM ({rows}) checked")


# Money: 20,000 plus the ledger's sum, for every player (no ledger row: 20,000).
MONEY = _check(
    ("name", "money", "from_ledger"),
    key="name",
    rows="SELECT p.name, p.money, :start + coalesce(l.total, 0) AS from_ledger"
    " FROM players p LEFT JOIN"
    " (SELECT player, sum(amount)::bigint AS total FROM ledger GROUP BY player) l"
    " ON l.player = p.name",
    bad="money <> from_ledger OR money < 0",
)
# Shares: the holdings counted per artist, against its holders and max shares.
SHARES = _check(
    ("mbid", "holders", "counted", "max_shares"),
    key="mbid",
    rows="SELECT a.mbid, a.holders, a.max_shares, coalesce(h.counted, 0) AS counted"
    " FROM artists a LEFT JOIN"
    " (SELECT mbid, count(*) AS counted FROM holdings GROUP BY mbid) h ON h.mbid = a.mbid",
    bad="counted <> holders OR counted > max_shares",
)


def _mismatches(row: Sequence[Any]) -> list[tuple[Any, ...]]:
    arrays = [a if a is not None else [] for a in row[1:]]
    return list(zip(*arrays, strict=True))


class PostgresAuditChecks(AuditChecks):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def _row(self, statement: TextClause, **params: Any) -> Sequence[Any]:
        if not self._schema.verified:
            self._schema.require(self._engine)
        with translated(), self._engine.connect() as conn:
            return conn.execute(statement, params).one()

    def money(self) -> MoneyCheck:
        row = self._row(MONEY, start=STARTING_MONEY)
        found = tuple(MoneyMismatch(n, int(m), int(e)) for n, m, e in _mismatches(row))
        return MoneyCheck(int(row[0]), found)

    def shares(self) -> ShareCheck:
        row = self._row(SHARES)
        found = tuple(ShareMismatch(m, h, int(c), s) for m, h, c, s in _mismatches(row))
        return ShareCheck(int(row[0]), found)
