"""How consumers name point periods, and which dates share a week or a month."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain.errors import DataError, InvalidInput
from datm.domain.periods import Period, period_for_days, same_iso_week, same_month


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, Period.ALL_TIME),
        (1, Period.DAILY),
        (2, Period.WEEKLY),
        (5, Period.WEEKLY),
        (7, Period.WEEKLY),
        (8, Period.MONTHLY),
        (20, Period.MONTHLY),
        (31, Period.MONTHLY),
        (32, Period.ALL_TIME),
        (365, Period.ALL_TIME),
        (10**9, Period.ALL_TIME),
    ],
)
def test_a_number_of_days_names_its_period(days: int, expected: Period) -> None:
    assert period_for_days(days) is expected


@pytest.mark.parametrize("days", [-1, -7, -(10**9)])
def test_a_negative_number_of_days_is_invalid_input(days: int) -> None:
    with pytest.raises(InvalidInput) as info:
        period_for_days(days)
    assert isinstance(info.value, DataError)
    assert info.value.fields["field"] == "days"


@given(st.integers())
def test_every_number_of_days_maps_as_the_rules_table_says(days: int) -> None:
    if days < 0:
        with pytest.raises(InvalidInput):
            period_for_days(days)
        return
    if days == 1:
        expected = Period.DAILY
    elif 2 <= days <= 7:
        expected = Period.WEEKLY
    elif 8 <= days <= 31:
        expected = Period.MONTHLY
    else:
        expected = Period.ALL_TIME
    assert period_for_days(days) is expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (date(2024, 5, 6), date(2024, 5, 12), True),  # Monday and Sunday of 2024-W19
        (date(2024, 5, 12), date(2024, 5, 13), False),  # Sunday W19, Monday W20
        (date(2024, 5, 31), date(2024, 6, 1), True),  # Friday and Saturday of W22
        (date(2024, 12, 30), date(2025, 1, 5), True),  # both in 2025-W01
        (date(2024, 12, 29), date(2024, 12, 30), False),  # 2024-W52, 2025-W01
        (date(2023, 5, 8), date(2024, 5, 6), False),  # both W19, different ISO years
    ],
)
def test_same_iso_week_follows_iso_weeks_across_months_and_years(
    a: date, b: date, same: bool
) -> None:
    assert same_iso_week(a, b) is same
    assert same_iso_week(b, a) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (date(2024, 1, 1), date(2024, 1, 31), True),
        (date(2024, 1, 31), date(2024, 2, 1), False),
        (date(2023, 1, 15), date(2024, 1, 15), False),  # the year counts too
        (date(2024, 12, 31), date(2025, 1, 1), False),
    ],
)
def test_same_month_is_the_same_calendar_month_of_the_same_year(
    a: date, b: date, same: bool
) -> None:
    assert same_month(a, b) is same
