"""Invariant checks over the whole store: money from the ledger, shares never oversold."""

from __future__ import annotations

from dataclasses import dataclass

from injector import inject

from datm.domain.player import STARTING_MONEY
from datm.ports.unit_of_work import UnitOfWorkFactory

BATCH = 500


@dataclass(frozen=True, slots=True)
class MoneyMismatch:
    player: str
    money: int
    from_ledger: int


@dataclass(frozen=True, slots=True)
class ShareMismatch:
    mbid: str
    holders: int
    counted_holders: int
    max_shares: int


@dataclass(frozen=True, slots=True)
class AuditReport:
    players: int
    artists: int
    money: tuple[MoneyMismatch, ...]
    shares: tuple[ShareMismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.money and not self.shares


class AuditService:
    @inject
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def audit(self) -> AuditReport:
        """Every player's money equals 20,000 plus their ledger; every artist's
        holders are counted right and never exceed its max shares."""
        money: list[MoneyMismatch] = []
        shares: list[ShareMismatch] = []
        players = artists = 0
        after: str | None = None
        while True:
            with self._uow() as uow:
                batch = uow.players.page(after, BATCH)
                for player in batch:
                    expected = STARTING_MONEY + uow.ledger.total(player.name)
                    if expected != player.money or player.money < 0:
                        money.append(MoneyMismatch(player.name, player.money, expected))
            if not batch:
                break
            players += len(batch)
            after = batch[-1].name
        after = None
        while True:
            with self._uow() as uow:
                listed = uow.artists.page(after, BATCH)
                for artist in listed:
                    counted = len(uow.players.holders_of(artist.mbid))
                    if counted != artist.holders or counted > artist.max_shares:
                        shares.append(
                            ShareMismatch(artist.mbid, artist.holders, counted, artist.max_shares)
                        )
            if not listed:
                break
            artists += len(listed)
            after = listed[-1].mbid
        return AuditReport(players, artists, tuple(money), tuple(shares))
