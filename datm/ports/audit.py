"""The invariants the audit checks, as the store checks them: set-based, each over
the whole game at once (on Postgres one aggregate statement, however many
players), never one player or artist at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


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
class MoneyCheck:
    players: int  # every player checked
    mismatches: tuple[MoneyMismatch, ...]  # by player name


@dataclass(frozen=True, slots=True)
class ShareCheck:
    artists: int  # every listed artist checked
    mismatches: tuple[ShareMismatch, ...]  # by MBID


class AuditChecks(ABC):
    @abstractmethod
    def money(self) -> MoneyCheck:
        """Every player's money against 20,000 plus the sum of its ledger: a player
        whose money differs, or is negative, is a mismatch. One snapshot."""

    @abstractmethod
    def shares(self) -> ShareCheck:
        """Every listed artist's holders against the holdings counted: an artist
        whose ``holders`` differs from the count, or whose count exceeds its max
        shares, is a mismatch. One snapshot."""
