"""Which board instances a player's stored totals belong to, for read models that
keep one sorted set per league, period and instance (a day, an ISO week, a month).

A stored total counts only while its period is current (``player.period_points``):
the daily one while its day is the latest close, the weekly one during its ISO week,
the monthly one during its month. A model keyed by instance needs no rollover: the
reader looks up the current instance, and a total of an earlier one is not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from datm.domain.periods import Period

ALL = "all"


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One player as the boards see them: league and stored totals."""

    name: str
    league: str
    all_time: int
    daily: int
    weekly: int
    monthly: int
    points_day: date | None


def day_instance(day: date) -> str:
    return f"d:{day.isoformat()}"


def week_instance(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"w:{year}-W{week:02d}"


def month_instance(day: date) -> str:
    return f"m:{day.year}-{day.month:02d}"


def instances(row: BoardRow) -> list[tuple[str, int]]:
    """(instance, points) of every board the player's stored totals are on."""
    found = [(ALL, row.all_time)]
    if row.points_day is not None:
        found += [
            (day_instance(row.points_day), row.daily),
            (week_instance(row.points_day), row.weekly),
            (month_instance(row.points_day), row.monthly),
        ]
    return found


def current_instance(period: Period, today: date) -> str | None:
    """The instance a reader of ``period`` looks up today; None for the daily one,
    whose instance is the latest close's day (the model knows it)."""
    if period is Period.ALL_TIME:
        return ALL
    if period is Period.WEEKLY:
        return week_instance(today)
    if period is Period.MONTHLY:
        return month_instance(today)
    return None


def live_instances(today: date) -> list[str]:
    """The instances a reader may look up today but the daily one (the model adds
    the latest close's day)."""
    return [ALL, week_instance(today), month_instance(today)]
