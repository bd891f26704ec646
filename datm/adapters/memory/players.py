"""Players in memory: copies out, row locks for update, written back at commit."""

from __future__ import annotations

import copy
from datetime import date

from datm.adapters.memory.transaction import Transaction
from datm.domain.errors import Conflict, ProgrammingError, UnknownPlayer
from datm.domain.periods import Period
from datm.domain.player import Player, period_points
from datm.ports.repositories import PlayerRepository


def _key(name: str) -> tuple[str, str]:
    return ("player", name)


class InMemoryPlayerRepository(PlayerRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _view(self) -> dict[str, Player]:
        """Committed players with this transaction's changes laid over; call under
        the store mutex and copy anything handed out."""
        p = self._tx.pending
        view = {k: v for k, v in self._tx.store.players.items() if k not in p.deleted_players}
        view.update(p.players)
        return view

    def find(self, name: str) -> Player | None:
        with self._tx.committed():
            player = self._view().get(name)
            return copy.deepcopy(player) if player is not None else None

    def get(self, name: str) -> Player:
        player = self.find(name)
        if player is None:
            raise UnknownPlayer(name)
        return player

    def get_for_update(self, name: str) -> Player:
        p = self._tx.pending
        newly_locked = self._tx.lock(_key(name))
        if name in p.players:
            return p.players[name]  # one tracked object per row, like an identity map
        with self._tx.committed() as store:
            committed = store.players.get(name) if name not in p.deleted_players else None
            player = copy.deepcopy(committed) if committed is not None else None
        if player is None:
            if newly_locked:
                self._tx.unlock(_key(name))
            raise UnknownPlayer(name)
        p.players[name] = player
        return player

    def add(self, player: Player) -> None:
        p = self._tx.pending
        self._tx.lock(_key(player.name))
        with self._tx.committed() as store:
            exists = player.name in store.players
        if player.name in p.players or (exists and player.name not in p.deleted_players):
            raise Conflict(f"player {player.name!r} already exists")
        if exists:
            p.deleted_players.discard(player.name)  # delete then insert: a replacement
        else:
            p.new_players.add(player.name)
        p.players[player.name] = player

    def delete(self, player: Player) -> None:
        p = self._tx.pending
        self._tx.check_open()
        if p.players.get(player.name) is not player:
            raise ProgrammingError("delete a player loaded with get_for_update or added")
        del p.players[player.name]
        if player.name in p.new_players:
            p.new_players.discard(player.name)
        else:
            p.deleted_players.add(player.name)

    def count(self) -> int:
        p = self._tx.pending
        with self._tx.committed() as store:
            # Exact: the row locks keep deleted names committed and new names absent.
            return len(store.players) - len(p.deleted_players) + len(p.new_players)

    def page(self, after: str | None, limit: int) -> list[Player]:
        with self._tx.committed():
            view = self._view()
            names = sorted(n for n in view if after is None or n > after)[:limit]
            return [copy.deepcopy(view[n]) for n in names]

    def holders_of(self, mbid: str) -> list[str]:
        with self._tx.committed():
            return sorted(name for name, pl in self._view().items() if mbid in pl.holdings)

    def scores(
        self, league: str, period: Period, latest_close: date | None, today: date
    ) -> list[tuple[str, int]]:
        with self._tx.committed():
            return [
                (
                    pl.name,
                    period_points(
                        period,
                        pl.points_all_time,
                        pl.points_daily,
                        pl.points_weekly,
                        pl.points_monthly,
                        pl.points_day,
                        latest_close,
                        today,
                    ),
                )
                for pl in self._view().values()
                if pl.league == league
            ]
