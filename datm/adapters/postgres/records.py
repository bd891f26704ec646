"""Append-only records and small tables: Core statements, no mapping needed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Row, cast, func, or_, select
from sqlalchemy.types import Date

from datm.adapters.postgres.hot_sql import FIND_SESSION
from datm.adapters.postgres.prepared import Prepared
from datm.adapters.postgres.tables import (
    closes,
    history,
    leagues,
    ledger,
    trades,
)
from datm.adapters.postgres.transaction import Transaction
from datm.domain.artist import HistoryPoint
from datm.domain.closes import CloseRecord
from datm.domain.errors import QuoteInvalid
from datm.domain.leagues import League
from datm.domain.player import LedgerEntry, LedgerKind
from datm.domain.quotes import Side
from datm.domain.sessions import Session
from datm.domain.trading import Trade
from datm.ports.repositories import (
    CloseRepository,
    HistoryRepository,
    LeagueRepository,
    LedgerRepository,
    SessionRepository,
    TradeRepository,
    UsedQuoteRepository,
)

INSERT_TRADE = Prepared(
    "datm_insert_trade",
    "INSERT INTO trades (player, mbid, side, price, at, quote_id)"
    " VALUES (%(player)s, %(mbid)s, %(side)s, %(price)s, %(at)s, %(quote_id)s)",
)
INSERT_LEDGER = Prepared(
    "datm_insert_ledger",
    "INSERT INTO ledger (player, amount, kind, at, reference)"
    " VALUES (%(player)s, %(amount)s, %(kind)s, %(at)s, %(reference)s)",
)
_QUOTE_ID = re.compile(r"^[0-9a-f]{1,64}$")  # our own ids; safe to inline in SQL


def _trade(row: Row[Any]) -> Trade:
    return Trade(row.player, row.mbid, Side(row.side), row.price, row.at, row.quote_id)


class PostgresTradeRepository(TradeRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, trade: Trade) -> None:
        self._tx.write(
            INSERT_TRADE,
            {
                "player": trade.player,
                "mbid": trade.mbid,
                "side": trade.side.value,
                "price": trade.price,
                "at": trade.at,
                "quote_id": trade.quote_id,
            },
        )

    def recent(self, limit: int) -> list[Trade]:
        rows = self._tx.execute(select(trades).order_by(trades.c.id.desc()).limit(limit))
        return [_trade(r) for r in rows]

    def for_player(self, name: str, limit: int) -> list[Trade]:
        rows = self._tx.execute(
            select(trades).where(trades.c.player == name).order_by(trades.c.id.desc()).limit(limit)
        )
        return [_trade(r) for r in rows]

    def count_for_player(self, name: str) -> int:
        statement = select(func.count()).select_from(trades).where(trades.c.player == name)
        return int(self._tx.execute(statement).scalar_one())

    def most_bought(self, limit: int, since: datetime | None) -> list[tuple[str, int]]:
        buys = func.count().label("buys")
        statement = select(trades.c.mbid, buys).where(trades.c.side == Side.BUY.value)
        if since is not None:
            statement = statement.where(trades.c.at >= since)
        statement = statement.group_by(trades.c.mbid).order_by(buys.desc(), trades.c.mbid)
        return [(m, int(n)) for m, n in self._tx.execute(statement.limit(limit))]

    def per_day(self, since: date) -> dict[date, int]:
        day = cast(func.timezone("UTC", trades.c.at), Date).label("day")
        start = datetime.combine(since, time.min, tzinfo=UTC)
        statement = select(day, func.count()).where(trades.c.at >= start).group_by(day)
        return {d: int(n) for d, n in self._tx.execute(statement)}

    def by_quote(self, quote_id: str) -> Trade | None:
        if not quote_id:
            return None  # trades without a quote (reset, deletion) carry ""
        # ux_trades_quote_id: at most one row, found by the index.
        row = self._tx.execute(select(trades).where(trades.c.quote_id == quote_id)).first()
        return None if row is None else _trade(row)

    def anonymise(self, name: str) -> None:
        self._tx.write("UPDATE trades SET player = NULL WHERE player = %(name)s", {"name": name})


class PostgresLedgerRepository(LedgerRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, entry: LedgerEntry) -> None:
        self._tx.write(
            INSERT_LEDGER,
            {
                "player": entry.player,
                "amount": entry.amount,
                "kind": entry.kind.value,
                "at": entry.at,
                "reference": entry.reference,
            },
        )

    def for_player(self, name: str) -> list[LedgerEntry]:
        rows = self._tx.execute(select(ledger).where(ledger.c.player == name).order_by(ledger.c.id))
        return [
            LedgerEntry(r.player, r.amount, LedgerKind(r.kind), r.at, r.reference) for r in rows
        ]

    def total(self, name: str) -> int:
        statement = select(func.coalesce(func.sum(ledger.c.amount), 0)).where(
            ledger.c.player == name
        )
        return int(self._tx.execute(statement).scalar_one())

    def delete_for(self, name: str) -> None:
        self._tx.write("DELETE FROM ledger WHERE player = %(name)s", {"name": name})


class PostgresHistoryRepository(HistoryRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def put(self, point: HistoryPoint) -> None:
        self._tx.write(
            "INSERT INTO history (mbid, day, price, points, dividend)"
            " VALUES (%(mbid)s, %(day)s, %(price)s, %(points)s, %(dividend)s)"
            " ON CONFLICT (mbid, day) DO UPDATE SET price = excluded.price,"
            " points = excluded.points, dividend = excluded.dividend",
            {
                "mbid": point.mbid,
                "day": point.day,
                "price": point.price,
                "points": point.points,
                "dividend": point.dividend,
            },
        )

    def for_artist(self, mbid: str, since: date) -> list[HistoryPoint]:
        rows = self._tx.execute(
            select(history)
            .where(history.c.mbid == mbid, history.c.day >= since)
            .order_by(history.c.day)
        )
        return [HistoryPoint(r.mbid, r.day, r.price, r.points, r.dividend) for r in rows]

    def latest(self, mbid: str) -> HistoryPoint | None:
        row = self._tx.execute(
            select(history).where(history.c.mbid == mbid).order_by(history.c.day.desc()).limit(1)
        ).first()
        return HistoryPoint(row.mbid, row.day, row.price, row.points, row.dividend) if row else None


class PostgresUsedQuoteRepository(UsedQuoteRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._unchecked: str | None = None

    def mark_used(self, quote_id: str, expires_at: datetime) -> None:
        if not _QUOTE_ID.match(quote_id):
            raise QuoteInvalid("malformed")
        # Refused with the first statement under the player's lock if a trade
        # already carries it (SQLSTATE DM002); the trade's unique index on the
        # quote id refuses a second execution racing this one. A trade's read
        # takes the check over (``take_unchecked``).
        self._unchecked = quote_id
        self._tx.check(_quote_check(quote_id))  # raises DM002

    def take_unchecked(self) -> str | None:
        """The quote marked used and not yet checked, which the caller now checks
        in its own statement under the player's lock."""
        quote_id, self._unchecked = self._unchecked, None
        return quote_id if quote_id and self._tx.take_check(_quote_check(quote_id)) else None


def _quote_check(quote_id: str) -> str:
    return f"SELECT datm_require_quote_unused('{quote_id}')"


class PostgresSessionRepository(SessionRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, session: Session) -> None:
        self._tx.write(
            "INSERT INTO sessions (key_hash, player, lastfm_key, created_at)"
            " VALUES (%(key_hash)s, %(player)s, %(lastfm_key)s, %(created_at)s)",
            {
                "key_hash": session.key_hash,
                "player": session.player,
                "lastfm_key": session.lastfm_key,
                "created_at": session.created_at,
            },
        )

    def find(self, key_hash: str) -> Session | None:
        rows = self._tx.fetch(FIND_SESSION, {"key": key_hash})
        return Session(*rows[0]) if rows else None

    def delete_for(self, player: str) -> None:
        self._tx.write("DELETE FROM sessions WHERE player = %(player)s", {"player": player})


class PostgresCloseRepository(CloseRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, day: date) -> CloseRecord | None:
        row = self._tx.execute(select(closes).where(closes.c.day == day)).first()
        if row is None:
            return None
        return CloseRecord(
            row.day,
            row.started_at,
            row.finished_at,
            row.artists_closed,
            row.cut_off_at,
            row.players,
            row.top_listeners,
            row.paid_from,
        )

    def put(self, record: CloseRecord) -> None:
        self._tx.write(
            "INSERT INTO closes (day, started_at, finished_at, artists_closed, cut_off_at,"
            " players, top_listeners, paid_from) VALUES (%(day)s, %(started_at)s,"
            " %(finished_at)s, %(artists)s, %(cut_off_at)s, %(players)s, %(top)s, %(paid_from)s)"
            " ON CONFLICT (day) DO UPDATE SET started_at = excluded.started_at,"
            " finished_at = excluded.finished_at, artists_closed = excluded.artists_closed,"
            " cut_off_at = excluded.cut_off_at, players = excluded.players,"
            " top_listeners = excluded.top_listeners, paid_from = excluded.paid_from",
            {
                "day": record.day,
                "started_at": record.started_at,
                "finished_at": record.finished_at,
                "artists": record.artists_closed,
                "cut_off_at": record.cut_off_at,
                "players": record.players,
                "top": record.top_listeners,
                "paid_from": record.paid_from,
            },
        )

    def latest_day(self) -> date | None:
        paying = or_(closes.c.paid_from.is_not(None), closes.c.finished_at.is_not(None))
        day = self._tx.execute(select(func.max(closes.c.day)).where(paying)).scalar_one()
        return day if isinstance(day, date) else None

    def forget_holder(self, player: str) -> None:
        # A number, not a delete of the player's holdings of record: a cut-off whose
        # copy has not committed yet has rows this transaction cannot see.
        self._tx.write(
            "UPDATE players SET reset_seq = nextval('player_resets') WHERE name = %(player)s",
            {"player": player},
        )


class PostgresLeagueRepository(LeagueRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def all(self) -> list[League]:
        rows = self._tx.execute(select(leagues).order_by(leagues.c.rank))
        return [League(r.uid, r.name, r.rank) for r in rows]

    def find(self, uid: str) -> League | None:
        row = self._tx.execute(select(leagues).where(leagues.c.uid == uid)).first()
        return League(row.uid, row.name, row.rank) if row else None
