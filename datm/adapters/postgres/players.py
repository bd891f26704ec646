"""Players on Postgres: the row through the ORM, holdings and trophies beside it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from datm.adapters.postgres import hot_sql
from datm.adapters.postgres.orm import StoredPlayer
from datm.adapters.postgres.prepared import Prepared
from datm.adapters.postgres.tables import holdings, players, trophies
from datm.adapters.postgres.transaction import TrackedPlayer, Transaction, Writes
from datm.domain.errors import ProgrammingError, UnknownPlayer
from datm.domain.periods import Period
from datm.domain.player import Player, period_points
from datm.ports.repositories import PlayerRepository


def _extras(name: ColumnElement[Any]) -> list[Any]:
    """held, paid, since, uids, awarded (as hot_sql reads them), each array
    ordered by its key so that separate subqueries stay aligned."""

    def aggregated(column: Any, key: Any, table: Any) -> Any:
        values = func.array_agg(aggregate_order_by(column, key))
        return select(values).where(table.c.player == name).scalar_subquery()

    h, t = holdings.c, trophies.c
    return [
        *(aggregated(c, h.mbid, holdings) for c in (h.mbid, h.price_paid, h.since)),
        *(aggregated(c, t.uid, trophies) for c in (t.uid, t.awarded_at)),
    ]


class PostgresPlayerRepository(PlayerRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _select(self) -> Select[Any]:
        return select(StoredPlayer, *_extras(players.c.name))

    def _read(self, statement: Select[Any]) -> list[Player]:
        rows = self._tx.execute(statement).all()
        loaded = [hot_sql.attach_extras(row[0], *row[1:]) for row in rows]
        return self._tx.detached(loaded)

    def find(self, name: str) -> Player | None:
        tracked = self._tx.pending.players.get(name)
        if tracked is not None:
            return hot_sql.player_copy(tracked.player)  # a read, not the tracked object
        rows = self._tx.fetch(hot_sql.FIND_PLAYER, {"player": name})
        if not rows:
            return None
        return hot_sql.read_player(rows[0])

    def get(self, name: str) -> Player:
        player = self.find(name)
        if player is None:
            raise UnknownPlayer(name)
        return player

    def lock_row(self, name: str) -> Player:
        """Lock the player's row; holdings and trophies still to be attached."""
        self._tx.begin()
        rows = self._tx.fetch(hot_sql.LOCK_PLAYER, {"player": name}, locks=True)
        if not rows:
            raise UnknownPlayer(name)
        return hot_sql.player_from_row(rows[0])

    def track(self, player: Player, extras: Sequence[Any]) -> Player:
        """Attach what the lock protects, read after it was granted, and track it:
        ``extras`` are the columns of ``hot_sql.PLAYER_EXTRAS``."""
        held, paid, since, uids, awarded, prices = extras
        hot_sql.attach_extras(player, held, paid, since, uids, awarded)
        self._tx.held_prices.update(hot_sql.held_prices(held, prices))
        self._tx.pending.players[player.name] = TrackedPlayer(
            player, dict(player.holdings), dict(player.trophies), player_row(player)
        )
        return player

    def get_for_update(self, name: str) -> Player:
        tracked = self._tx.pending.players.get(name)
        if tracked is not None:
            return tracked.player
        # Lock first; what the lock protects is read by a later statement, whose
        # snapshot is taken after the lock was granted.
        player = self.lock_row(name)
        extras = self._tx.fetch(hot_sql.PLAYER_EXTRAS, {"player": name})[0]
        return self.track(player, extras)

    def add(self, player: Player) -> None:
        self._tx.check_open()
        if player.name in self._tx.pending.players:
            raise ProgrammingError(f"player {player.name!r} is already in this unit of work")
        self._tx.begin()
        self._tx.pending.players[player.name] = TrackedPlayer(player, {}, {})
        self._tx.pending.new_players.add(player.name)

    def delete(self, player: Player) -> None:
        tracked = self._tx.pending.players.get(player.name)
        if tracked is None or tracked.player is not player:
            raise ProgrammingError("delete a player loaded with get_for_update or added")
        del self._tx.pending.players[player.name]
        if player.name in self._tx.pending.new_players:
            self._tx.pending.new_players.discard(player.name)
        else:
            self._tx.pending.deleted_players.add(player.name)

    def count(self) -> int:
        return int(self._tx.execute(select(func.count()).select_from(players)).scalar_one())

    def page(self, after: str | None, limit: int) -> list[Player]:
        statement = self._select().order_by(players.c.name).limit(limit)
        if after is not None:
            statement = statement.where(players.c.name > after)
        return self._read(statement)

    def holders_of(self, mbid: str) -> list[str]:
        rows = self._tx.execute(
            select(holdings.c.player).where(holdings.c.mbid == mbid).order_by(holdings.c.player)
        )
        return [str(name) for name in rows.scalars()]

    def scores(
        self, league: str, period: Period, latest_close: date | None, today: date
    ) -> list[tuple[str, int]]:
        rows = self._tx.execute(
            select(
                players.c.name,
                players.c.points_all_time,
                players.c.points_daily,
                players.c.points_weekly,
                players.c.points_monthly,
                players.c.points_day,
            ).where(players.c.league == league)
        )
        return [
            (name, period_points(period, at, d, w, m, day, latest_close, today))
            for name, at, d, w, m, day in rows
        ]


def player_row(p: Player) -> dict[str, Any]:
    """The values of a player's row but its name, by column."""
    return {
        "league": p.league,
        "money": p.money,
        "created_at": p.created_at,
        "trades_made": p.trades_made,
        "points_all_time": p.points_all_time,
        "points_daily": p.points_daily,
        "points_weekly": p.points_weekly,
        "points_monthly": p.points_monthly,
        "points_day": p.points_day,
    }


def player_writes(tx: Transaction) -> Writes:
    """Statements for tracked, new and deleted players, in foreign-key order.
    A tracked player's update sets only the columns that changed (a trade's:
    money and trades made), so the driver adapts and sends fewer values."""
    inserts: Writes = []
    updates: Writes = []
    for name, tracked in sorted(tx.pending.players.items()):
        p = tracked.player
        row = player_row(p)
        if name in tx.pending.new_players:
            inserts.append((INSERT_PLAYER, {"name": name, **row}))
        else:
            changed = {c: v for c, v in row.items() if v != tracked.row[c]}
            if changed:
                updates.append((update_player(tuple(changed)), {"name": name, **changed}))
        for mbid in sorted(tracked.holdings.keys() - p.holdings.keys()):
            updates.append((DELETE_HOLDING, {"player": name, "mbid": mbid}))
        for mbid in sorted(p.holdings.keys() - tracked.holdings.keys()):
            h = p.holdings[mbid]
            updates.append(
                (
                    INSERT_HOLDING,
                    {"player": name, "mbid": mbid, "paid": h.price_paid, "since": h.since},
                )
            )
        for uid in sorted(p.trophies.keys() - tracked.trophies.keys()):
            updates.append((INSERT_TROPHY, {"player": name, "uid": uid, "at": p.trophies[uid]}))
    return inserts + updates


@functools.cache
def update_player(columns: tuple[str, ...]) -> Prepared:
    """The update of these columns, prepared once per connection; a handful of
    combinations occur (a trade's, a close's, a reset's)."""
    if not columns or not set(columns) <= set(_UPDATABLE):
        raise ProgrammingError(f"cannot update players' {columns}")
    mask = sum(1 << _UPDATABLE.index(c) for c in columns)
    sets = ", ".join(f"{c} = %({c})s" for c in columns)
    return Prepared(
        f"datm_update_player_{mask:02x}", f"UPDATE players SET {sets} WHERE name = %(name)s"
    )


def deleted_player_writes(tx: Transaction) -> Writes:
    return [(DELETE_PLAYER, {"name": n}) for n in sorted(tx.pending.deleted_players)]


# A new row takes its reset number from the sequence, as a reset does: a player of
# a name that left after a close's cut-off and logged in again is then past the
# close's reset mark, and is not paid what the name held at the cut-off.
INSERT_PLAYER = (
    "INSERT INTO players (name, league, money, created_at, trades_made, points_all_time,"
    " points_daily, points_weekly, points_monthly, points_day, reset_seq) VALUES (%(name)s,"
    " %(league)s, %(money)s, %(created_at)s, %(trades_made)s, %(points_all_time)s,"
    " %(points_daily)s, %(points_weekly)s, %(points_monthly)s, %(points_day)s,"
    " nextval('player_resets'))"
)
_UPDATABLE = (  # the order names the prepared updates
    "league",
    "money",
    "trades_made",
    "points_all_time",
    "points_daily",
    "points_weekly",
    "points_monthly",
    "points_day",
)
DELETE_HOLDING = Prepared(
    "datm_delete_holding", "DELETE FROM holdings WHERE player = %(player)s AND mbid = %(mbid)s"
)
INSERT_HOLDING = Prepared(
    "datm_insert_holding",
    "INSERT INTO holdings (player, mbid, price_paid, since)"
    " VALUES (%(player)s, %(mbid)s, %(paid)s, %(since)s)",
)
INSERT_TROPHY = Prepared(
    "datm_insert_trophy",
    "INSERT INTO trophies (player, uid, awarded_at) VALUES (%(player)s, %(uid)s, %(at)s)",
)
DELETE_PLAYER = "DELETE FROM players WHERE name = %(name)s"
