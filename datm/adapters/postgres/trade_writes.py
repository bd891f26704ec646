"""A trade's writes as one statement.

A buy or a sale writes five rows: the player's money and trade count, the
holding (added or removed), the trade, its ledger entry and the artist's move.
Sent as five statements they cost the client five rounds of value adaptation
(a tenth of a trade's client CPU) and the server five statements; sent as one,
the shared values (player, artist, time) are adapted once. The statement is made
of the five statements' own SQL as data-modifying CTEs: they touch five
different tables, so running them as one (one snapshot, in no fixed order)
changes nothing they do; the foreign keys are checked after it, and those to
artists at COMMIT (revision 0006). Any other set of writes is sent as it is.
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


_BUY = (_MONEY_AND_COUNT, INSERT_HOLDING, INSERT_TRADE, INSERT_LEDGER, MOVE_AFTER_BUY)
_SALE = (_MONEY_AND_COUNT, DELETE_HOLDING, INSERT_TRADE, INSERT_LEDGER, MOVE_AFTER_SALE)
FUSED: dict[tuple[Statement, ...], Prepared] = {
    _BUY: _fused("datm_trade_writes_buy", _BUY),
    _SALE: _fused("datm_trade_writes_sale", _SALE),
}


def as_one_statement(writes: Writes) -> Writes:
    """``writes`` as one statement when they are exactly a buy's or a sale's and
    the values they share by name (player, artist, time) are equal; else as they are."""
    fused = FUSED.get(tuple(statement for statement, _ in writes))
    if fused is None:
        return writes
    merged: dict[str, Any] = {}
    for _, params in writes:
        for name, value in params.items():
            if merged.setdefault(name, value) != value:
                return writes
    return [(fused, merged)]
