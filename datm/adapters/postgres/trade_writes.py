"""A trade's writes in two statements instead of five.

A buy or a sale writes five rows: the player's money and trade count, the
holding (added or removed), the trade, its ledger entry and the artist's move.
Sent as five statements they cost the client five rounds of value adaptation
(a tenth of a trade's client CPU) and the server five statements. The first
four go as one statement made of their own SQL as data-modifying CTEs: they
touch four different tables, so running them as one (one snapshot, in no fixed
order) changes nothing they do. The move stays a statement of its own, the last
before COMMIT, so that the artist's row is locked only from there.
Any other set of writes is sent as it is.
"""

from __future__ import annotations

from typing import Any

from datm.adapters.postgres.artists import MOVE_AFTER_BUY, MOVE_AFTER_SALE
from datm.adapters.postgres.players import DELETE_HOLDING, INSERT_HOLDING, update_player
from datm.adapters.postgres.prepared import Prepared, Statement
from datm.adapters.postgres.records import INSERT_LEDGER, INSERT_TRADE
from datm.adapters.postgres.transaction import Writes

_MONEY_AND_COUNT = update_player(("money", "trades_made"))


def _fused(name: str, parts: tuple[Prepared, ...]) -> Prepared:
    *ctes, last = parts
    withs = ", ".join(f"w{i} AS ({part.sql})" for i, part in enumerate(ctes))
    return Prepared(name, f"WITH {withs} {last.sql}")


_BUY = (_MONEY_AND_COUNT, INSERT_HOLDING, INSERT_TRADE, INSERT_LEDGER)
_SALE = (_MONEY_AND_COUNT, DELETE_HOLDING, INSERT_TRADE, INSERT_LEDGER)
FUSED: dict[tuple[Statement, ...], Prepared] = {
    (*_BUY, MOVE_AFTER_BUY): _fused("datm_trade_rows_buy", _BUY),
    (*_SALE, MOVE_AFTER_SALE): _fused("datm_trade_rows_sale", _SALE),
}


def as_two_statements(writes: Writes) -> Writes:
    """``writes`` as the four rows in one statement, then the move, when they are
    exactly a buy's or a sale's and the values the four share by name (player,
    artist, time) are equal; else as they are."""
    fused = FUSED.get(tuple(statement for statement, _ in writes))
    if fused is None:
        return writes
    *rows, move = writes
    merged: dict[str, Any] = {}
    for _, params in rows:
        for name, value in params.items():
            if merged.setdefault(name, value) != value:
                return writes
    return [(fused, merged), move]
