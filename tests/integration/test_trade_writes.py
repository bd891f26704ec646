"""A trade's five writes sent as two statements do exactly what the five do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from datm.adapters.postgres.artists import MOVE_AFTER_BUY, MOVE_AFTER_SALE  # noqa: E402
from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.players import (  # noqa: E402
    DELETE_HOLDING,
    INSERT_HOLDING,
    INSERT_TROPHY,
    update_player,
)
from datm.adapters.postgres.prepared import Prepared  # noqa: E402
from datm.adapters.postgres.records import INSERT_LEDGER, INSERT_TRADE  # noqa: E402
from datm.adapters.postgres.trade_writes import FUSED, as_two_statements  # noqa: E402
from datm.adapters.postgres.transaction import Transaction, Writes  # noqa: E402
from datm.adapters.postgres.unit_of_work import PostgresUnitOfWork  # noqa: E402
from datm.domain import trading  # noqa: E402
from datm.domain.quotes import Quote, Side  # noqa: E402
from datm.settings import Settings  # noqa: E402

AT = datetime(2026, 11, 26, 4, 50, tzinfo=UTC)
MBID = "0011a998-f49a-3819-e9a3-199e32e195ba"
SEEDED = f"""
INSERT INTO players (name, league, money, created_at, trades_made)
    VALUES ('ann', (SELECT uid FROM leagues ORDER BY rank LIMIT 1), 20000, now(), 3);
INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,
                     last_listeners, last_playcount, listed_on)
    VALUES ('{MBID}', 'Artist', 1234, 100, 7, 1200, 1, 1, current_date);
"""
TABLES = {
    "players": "name, money, trades_made",
    "holdings": "player, mbid, price_paid, since",
    "trades": "player, mbid, side, price, at, quote_id",
    "ledger": "player, amount, kind, at, reference",
    "artists": "mbid, price, holders",
}


def trade(side: str, money: int, price: int, player: str = "ann") -> Writes:
    """A trade's writes as the unit of work makes them, in its order."""
    update = update_player(("money", "trades_made"))
    amount = -price if side == "buy" else price
    if side == "buy":
        holding = (INSERT_HOLDING, {"player": player, "mbid": MBID, "paid": price, "since": AT})
    else:
        holding = (DELETE_HOLDING, {"player": player, "mbid": MBID})
    recorded = {"player": player, "mbid": MBID, "side": side, "price": price, "at": AT}
    entry = {"player": player, "amount": amount, "kind": side, "at": AT, "reference": MBID}
    return [
        (update, {"name": player, "money": money, "trades_made": 4}),
        holding,
        (INSERT_TRADE, {**recorded, "quote_id": f"{side}1"}),
        (INSERT_LEDGER, entry),
        (MOVE_AFTER_BUY if side == "buy" else MOVE_AFTER_SALE, {"mbid": MBID}),
    ]


def buy() -> Writes:
    return trade("buy", 18766, 1234)


def sale() -> Writes:
    return trade("sell", 21200, 1200)


@pytest.fixture(scope="module")
def cursor() -> Iterator[psycopg2.extensions.cursor]:
    with postgres_support.migrated_cursor("datm_trade_writes", SEEDED) as cur:
        yield cur


def rows_after(cur: psycopg2.extensions.cursor, before: str, writes: Writes) -> dict[str, Any]:
    """Every table's rows after ``before`` and ``writes`` in one transaction, rolled back."""
    cur.execute("BEGIN")
    try:
        if before:
            cur.execute(before)
        for statement, params in writes:
            assert isinstance(statement, Prepared)
            cur.execute(statement.sql, params)
        rows = {}
        for table, columns in TABLES.items():
            cur.execute(f"SELECT {columns} FROM {table}")
            rows[table] = sorted(cur.fetchall())
        return rows
    finally:
        cur.execute("ROLLBACK")


def test_a_buy_or_a_sale_becomes_its_rows_in_one_statement_then_its_move() -> None:
    for writes, name in ((buy(), "datm_trade_rows_buy"), (sale(), "datm_trade_rows_sale")):
        [(rows, params), move] = as_two_statements(writes)
        assert isinstance(rows, Prepared) and rows.name == name
        assert params == {k: v for _, p in writes[:4] for k, v in p.items()}  # each once
        assert move == writes[4]  # the artist's row is locked by the last statement only


def test_other_writes_are_sent_as_they_are() -> None:
    with_trophy = [*buy(), (INSERT_TROPHY, {"player": "ann", "uid": "first_trade", "at": AT})]
    assert as_two_statements(with_trophy) == with_trophy
    assert as_two_statements(buy()[:-1]) == buy()[:-1]
    mixed = buy()
    mixed[2] = (mixed[2][0], {**mixed[2][1], "player": "bob"})  # shares a name, not a value
    assert as_two_statements(mixed) == mixed


@pytest.mark.parametrize(
    ("before", "writes"),
    [
        ("", buy()),
        (
            f"INSERT INTO holdings VALUES ('ann', '{MBID}', 1000, now());"
            f" UPDATE artists SET holders = holders + 1 WHERE mbid = '{MBID}'",
            sale(),
        ),
    ],
    ids=["buy", "sale"],
)
def test_the_two_statements_leave_the_rows_the_five_leave(
    cursor: psycopg2.extensions.cursor, before: str, writes: Writes
) -> None:
    separately = rows_after(cursor, before, writes)
    together = rows_after(cursor, before, as_two_statements(writes))

    assert len(as_two_statements(writes)) == 2
    assert together == separately
    assert separately["trades"] and separately["ledger"]  # the writes did write


def test_the_fused_statements_are_the_buy_and_the_sale() -> None:
    assert sorted(s.name for s in FUSED.values()) == [
        "datm_trade_rows_buy",
        "datm_trade_rows_sale",
    ]


def test_a_trade_through_the_unit_of_work_is_sent_as_the_two_statements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The unit of work makes a plain buy's and sale's writes in the shape that
    ``as_two_statements`` fuses (else the fusion would silently stop)."""
    sent: list[Writes] = []
    original = Transaction.flush_and_commit

    def recording(tx: Transaction, writes: Writes) -> None:
        sent.append(list(writes))
        original(tx, writes)

    monkeypatch.setattr(Transaction, "flush_and_commit", recording)
    with postgres_support.migrated_cursor("datm_trade_uow", SEEDED) as cur:
        cur.execute("SELECT current_database()")
        (name,) = cur.fetchone()
        url = make_url(postgres_support.test_database_url()).set(database=name)
        engine = make_engine(Settings(database_url=url.render_as_string(hide_password=False)))
        try:
            for side, act in ((Side.BUY, trading.buy), (Side.SELL, trading.sell)):
                with PostgresUnitOfWork(engine) as uow:
                    player, artist = uow.lock_for_trade("ann", MBID)
                    price = trading.quote_price(player, artist, side)
                    quote = Quote(f"q{side.value}", "ann", MBID, side, price, AT)
                    outcome = act(player, artist, quote, AT)
                    uow.trades.add(outcome.trade)
                    uow.ledger.add(outcome.ledger)
                    uow.commit()
        finally:
            engine.dispose()

    names = [[s.name for s, _ in writes if isinstance(s, Prepared)] for writes in sent]
    assert names == [
        ["datm_trade_rows_buy", "datm_move_after_buy"],
        ["datm_trade_rows_sale", "datm_move_after_sale"],
    ]
