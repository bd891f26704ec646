"""The Player aggregate: money, holdings, points, trophies and league."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from datm.domain.errors import InvalidInput
from datm.domain.leagues import DEFAULT_LEAGUE
from datm.domain.periods import Period, same_iso_week, same_month

STARTING_MONEY = 20_000
MAX_NAME_LENGTH = 64


def check_player_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("player name", f"must be 1 to {MAX_NAME_LENGTH} characters")
    return name


class LedgerKind(enum.Enum):
    BUY = "buy"
    SELL = "sell"
    DIVIDEND = "dividend"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change of one player's money; money = STARTING_MONEY + sum(amounts)."""

    player: str
    amount: int
    kind: LedgerKind
    at: datetime
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Holding:
    mbid: str
    price_paid: int
    since: datetime


class Player:
    """A last.fm user playing the game. Entity: equal by name."""

    def __init__(
        self,
        name: str,
        created_at: datetime,
        league: str = DEFAULT_LEAGUE,
        money: int = STARTING_MONEY,
    ) -> None:
        self.name = check_player_name(name)
        self.league = league
        self.money = money
        self.created_at = created_at
        self.holdings: dict[str, Holding] = {}
        self.trophies: dict[str, datetime] = {}
        self.trades_made = 0  # kept on the player so trophy rules need no count query
        self.points_all_time = 0
        self.points_daily = 0
        self.points_weekly = 0
        self.points_monthly = 0
        self.points_day: date | None = None

    # money -----------------------------------------------------------------
    def change_money(
        self, amount: int, kind: LedgerKind, at: datetime, ref: str = ""
    ) -> LedgerEntry:
        """The one way money changes: returns the record the caller must store."""
        if self.money + amount < 0:
            raise InvalidInput("amount", "money can never become negative")
        self.money += amount
        return LedgerEntry(self.name, amount, kind, at, ref)

    # points ----------------------------------------------------------------
    def add_points(self, points: int, day: date) -> None:
        """Points from the close of ``day``; totals of earlier periods roll over lazily."""
        last = self.points_day
        if last != day:
            self.points_daily = 0
            if last is None or not same_iso_week(last, day):
                self.points_weekly = 0
            if last is None or not same_month(last, day):
                self.points_monthly = 0
            self.points_day = day
        self.points_all_time += points
        self.points_daily += points
        self.points_weekly += points
        self.points_monthly += points

    def points_for(self, period: Period, latest_close: date | None, today: date) -> int:
        """The player's total for one period, as of the latest close and today (UTC)."""
        return period_points(
            period,
            self.points_all_time,
            self.points_daily,
            self.points_weekly,
            self.points_monthly,
            self.points_day,
            latest_close,
            today,
        )

    def clear_points(self) -> None:
        self.points_all_time = self.points_daily = 0
        self.points_weekly = self.points_monthly = 0
        self.points_day = None

    # trophies --------------------------------------------------------------
    def award(self, uid: str, at: datetime) -> bool:
        """Award once; True when the trophy is new."""
        if uid in self.trophies:
            return False
        self.trophies[uid] = at
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Player) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<Player {self.name!r} money={self.money}>"


def period_points(
    period: Period,
    all_time: int,
    daily: int,
    weekly: int,
    monthly: int,
    points_day: date | None,
    latest_close: date | None,
    today: date,
) -> int:
    """A stored total counts only while its period is current; shared by every read model."""
    if period is Period.ALL_TIME:
        return all_time
    if points_day is None:
        return 0
    if period is Period.DAILY:
        return daily if points_day == latest_close else 0
    if period is Period.WEEKLY:
        return weekly if same_iso_week(points_day, today) else 0
    return monthly if same_month(points_day, today) else 0
