"""Point periods: how consumers name them, and which closes each one counts."""

from __future__ import annotations

import enum
from datetime import date

from datm.domain.errors import InvalidInput


class Period(enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ALL_TIME = "all_time"


def period_for_days(days: int) -> Period:
    """1 -> daily, 2..7 -> weekly, 8..31 -> monthly, 0 or more than 31 -> all time."""
    if days < 0:
        raise InvalidInput("days", f"must be 0 or more, not {days}")
    if days == 1:
        return Period.DAILY
    if 2 <= days <= 7:
        return Period.WEEKLY
    if 8 <= days <= 31:
        return Period.MONTHLY
    return Period.ALL_TIME


def same_iso_week(a: date, b: date) -> bool:
    return a.isocalendar()[:2] == b.isocalendar()[:2]


def same_month(a: date, b: date) -> bool:
    return (a.year, a.month) == (b.year, b.month)
