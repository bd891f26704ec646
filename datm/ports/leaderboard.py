"""The leaderboards: top n, a player's position and the players near them, per
league and period (game-rules.md, Points periods and leaderboards).

Two ports. ``Standings`` answers from the game database itself, always right and,
at full size, slow (a league of a million players is counted per call).
``Leaderboard`` is a read model kept in step with the database by every write
that moves a player on a board (a close's payment, a new player, a reset, a
deletion): it answers in about a millisecond, or says ``None`` when it cannot
vouch for its answer (not built, behind the database, or unreachable), and the
caller then asks ``Standings``. It is never wrong: an answer it gives is the
database's at some moment during the call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date

from datm.domain.boards import BoardRow
from datm.domain.periods import Period
from datm.domain.ranking import Standing


class Standings(ABC):
    """The boards as the database has them. ``today`` (UTC) and the latest close
    decide which stored totals count (``domain.player.period_points``)."""

    @abstractmethod
    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing]:
        """The first ``limit`` players of ``league``; UnknownLeague if there is none."""

    @abstractmethod
    def near(self, player: str, period: Period, today: date) -> list[Standing]:
        """The player with up to 4 above and 5 below; UnknownPlayer if unknown."""

    @abstractmethod
    def position(self, player: str, period: Period, today: date) -> Standing:
        """The player's own place; UnknownPlayer if unknown."""


class Leaderboard(ABC):
    """A read model of the boards; each read returns None when the caller must ask
    ``Standings`` instead."""

    @abstractmethod
    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing] | None:
        """As ``Standings.top``, or None."""

    @abstractmethod
    def near(self, player: str, period: Period, today: date) -> list[Standing] | None:
        """As ``Standings.near``, or None."""

    @abstractmethod
    def position(self, player: str, period: Period, today: date) -> Standing | None:
        """As ``Standings.position``, or None."""

    @abstractmethod
    def changing(self, players: Sequence[str], today: date) -> AbstractContextManager[None]:
        """Around a transaction that changes these players' points, league or
        existence: the model is told before the commit and brought in step after
        it (from the database, whatever the block did)."""

    @abstractmethod
    def paying(self, day: date, today: date) -> AbstractContextManager[None]:
        """Around one payment transaction of the close of ``day``: the holders that
        close has paid so far are put in the model, perhaps in the background (see
        ``caught_up``), in the order of the transactions."""

    @abstractmethod
    def caught_up(self) -> None:
        """Wait until what ``paying`` left to the background is in the model."""

    @abstractmethod
    def rebuild(self, today: date) -> int:
        """Build the model again from the database; the number of players on it."""


@dataclass(frozen=True, slots=True)
class PaidSince:
    """How far the holders' payment of a close has come (the last player name
    paid, "" for none), the latest close that paid, and the holders of record
    paid after a given name, as they are now."""

    through: str
    latest_close: date | None
    players: list[BoardRow]


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """The whole game as of one instant, for building a model: the database's
    epoch then (see ``LeaderboardSource.epoch``), the latest close, the leagues and
    every player, in chunks."""

    epoch: int
    latest_close: date | None
    leagues: tuple[str, ...]
    players: Iterator[list[BoardRow]]


class LeaderboardSource(ABC):
    """What a leaderboard model reads from the game database."""

    @abstractmethod
    def identity(self) -> str:
        """Names this game database the same way from every process and machine."""

    @abstractmethod
    def epoch(self) -> int:
        """A number that grows whenever a change may have missed the model (a
        writer could not reach it): a model built at an earlier epoch is not used."""

    @abstractmethod
    def bump_epoch(self) -> None:
        """Say that a change is about to miss the model."""

    @abstractmethod
    def players(self, names: Sequence[str]) -> list[BoardRow]:
        """These players as they are now; those that do not exist are left out."""

    @abstractmethod
    def paid_since(self, day: date, after: str) -> PaidSince:
        """What the close of ``day`` has paid after the player name ``after``, as
        of one instant."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[BoardSnapshot]:
        """The whole game as of one instant, read while the context is open."""
