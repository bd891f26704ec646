"""Invariant checks over the whole store: money from the ledger, shares never oversold."""

from __future__ import annotations

from dataclasses import dataclass

from injector import inject

from datm.ports.audit import AuditChecks
from datm.ports.audit import MoneyMismatch as MoneyMismatch  # re-exported: results too
from datm.ports.audit import ShareMismatch as ShareMismatch


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
    def __init__(self, checks: AuditChecks) -> None:
        self._checks = checks

    def audit(self) -> AuditReport:
        """Every player's money equals 20,000 plus their ledger (and is not
        negative); every artist's holders are counted right and never exceed its
        max shares. Each check is set-based in the store: the whole game at once."""
        money = self._checks.money()
        shares = self._checks.shares()
        return AuditReport(money.players, shares.artists, money.mismatches, shares.mismatches)
