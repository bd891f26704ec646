"""A player's points per period, money changes, and what each period reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain.errors import InvalidInput
from datm.domain.leagues import DEFAULT_LEAGUE
from datm.domain.periods import Period, same_iso_week, same_month
from datm.domain.player import STARTING_MONEY, LedgerKind, Player, period_points

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
MON = date(2024, 5, 6)  # Monday of 2024-W19
TUE = date(2024, 5, 7)
SUN = date(2024, 5, 12)  # Sunday of 2024-W19
NEXT_MON = date(2024, 5, 13)  # Monday of 2024-W20, still May
FRI_MAY_31 = date(2024, 5, 31)  # Friday of 2024-W22
SAT_JUNE_1 = date(2024, 6, 1)  # Saturday of 2024-W22, a new month


def totals(player: Player) -> tuple[int, int, int, int]:
    return (
        player.points_daily,
        player.points_weekly,
        player.points_monthly,
        player.points_all_time,
    )


def test_a_new_player_starts_with_twenty_thousand_and_no_points_in_bronze() -> None:
    player = Player("alice", created_at=NOW)
    assert player.money == STARTING_MONEY == 20_000
    assert player.league == DEFAULT_LEAGUE == "bronze"
    assert totals(player) == (0, 0, 0, 0)
    assert player.points_day is None
    for period in Period:
        assert player.points_for(period, MON, MON) == 0


def test_points_of_the_same_day_accumulate_in_every_period() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, MON)
    player.add_points(5, MON)
    assert totals(player) == (15, 15, 15, 15)  # 10 + 5 everywhere
    assert player.points_day == MON


def test_a_new_day_resets_daily_but_not_week_month_or_all_time() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, MON)
    player.add_points(5, TUE)
    assert totals(player) == (5, 15, 15, 15)
    assert player.points_day == TUE


def test_a_new_iso_week_resets_weekly_but_not_monthly() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, SUN)
    player.add_points(5, NEXT_MON)
    assert totals(player) == (5, 5, 15, 15)


def test_a_new_month_resets_monthly_even_within_the_same_week() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, FRI_MAY_31)
    player.add_points(5, SAT_JUNE_1)
    assert totals(player) == (5, 15, 5, 15)


def test_new_years_eve_and_day_share_an_iso_week_but_not_a_month() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, date(2024, 12, 31))  # 2025-W01
    player.add_points(5, date(2025, 1, 1))  # 2025-W01
    assert totals(player) == (5, 15, 5, 15)


def test_a_long_gap_resets_everything_but_all_time() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, MON)
    player.add_points(5, date(2024, 6, 20))
    assert totals(player) == (5, 5, 5, 15)


def test_negative_points_reduce_the_totals() -> None:
    player = Player("alice", created_at=NOW)
    player.add_points(10, MON)
    player.add_points(-4, MON)
    player.add_points(-3, TUE)
    assert totals(player) == (-3, 3, 3, 3)  # daily -3; others 10 - 4 - 3


@pytest.fixture
def scored() -> Player:
    """10 on Monday, 5 on Tuesday: daily 5, weekly 15, monthly 15, all time 15."""
    player = Player("alice", created_at=NOW)
    player.add_points(10, MON)
    player.add_points(5, TUE)
    return player


def test_daily_points_count_only_when_earned_at_the_latest_close(scored: Player) -> None:
    assert scored.points_for(Period.DAILY, TUE, date(2024, 5, 8)) == 5
    # the latest close was Wednesday and paid the player nothing
    assert scored.points_for(Period.DAILY, date(2024, 5, 8), date(2024, 5, 8)) == 0
    assert scored.points_for(Period.DAILY, None, TUE) == 0


def test_weekly_points_count_only_in_the_same_iso_week_as_today(scored: Player) -> None:
    assert scored.points_for(Period.WEEKLY, TUE, SUN) == 15
    assert scored.points_for(Period.WEEKLY, TUE, NEXT_MON) == 0


def test_monthly_points_count_only_in_the_same_month_as_today(scored: Player) -> None:
    assert scored.points_for(Period.MONTHLY, TUE, FRI_MAY_31) == 15
    assert scored.points_for(Period.MONTHLY, TUE, SAT_JUNE_1) == 0


def test_all_time_points_always_count(scored: Player) -> None:
    assert scored.points_for(Period.ALL_TIME, None, date(2030, 1, 1)) == 15


def test_clearing_points_zeroes_every_period(scored: Player) -> None:
    scored.clear_points()
    assert totals(scored) == (0, 0, 0, 0)
    assert scored.points_day is None
    assert scored.points_for(Period.ALL_TIME, TUE, TUE) == 0


def test_period_points_without_a_points_day_are_zero_except_all_time() -> None:
    assert period_points(Period.ALL_TIME, 7, 1, 2, 3, None, MON, MON) == 7
    for period in (Period.DAILY, Period.WEEKLY, Period.MONTHLY):
        assert period_points(period, 7, 1, 2, 3, None, MON, MON) == 0


def test_changing_money_returns_the_ledger_entry() -> None:
    player = Player("alice", created_at=NOW)
    entry = player.change_money(-1_500, LedgerKind.BUY, NOW, "ref")
    assert player.money == 18_500  # 20000 - 1500
    assert (entry.player, entry.amount, entry.kind, entry.at, entry.reference) == (
        "alice",
        -1_500,
        LedgerKind.BUY,
        NOW,
        "ref",
    )


def test_money_can_never_become_negative() -> None:
    player = Player("alice", created_at=NOW, money=100)
    with pytest.raises(InvalidInput):
        player.change_money(-101, LedgerKind.BUY, NOW)
    assert player.money == 100
    player.change_money(-100, LedgerKind.BUY, NOW)
    assert player.money == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_a_player_name_must_be_one_to_sixty_four_characters(name: str) -> None:
    with pytest.raises(InvalidInput):
        Player(name, created_at=NOW)


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(-1_000, 1_000)), min_size=1, max_size=30),
    st.integers(0, 40),
)
def test_period_totals_match_a_model_over_any_run_of_closes(
    steps: list[tuple[int, int]], today_gap: int
) -> None:
    # closes happen on non-decreasing days: each step waits 0..40 days
    start = date(2024, 12, 1)
    player = Player("alice", created_at=NOW)
    paid: list[tuple[date, int]] = []
    day = start
    for wait, points in steps:
        day += timedelta(days=wait)
        player.add_points(points, day)
        paid.append((day, points))
    last = day
    assert player.points_all_time == sum(p for _, p in paid)
    assert player.points_daily == sum(p for d, p in paid if d == last)
    assert player.points_weekly == sum(p for d, p in paid if same_iso_week(d, last))
    assert player.points_monthly == sum(p for d, p in paid if same_month(d, last))

    today = last + timedelta(days=today_gap)
    latest_close = today if today_gap else last
    assert player.points_for(Period.DAILY, latest_close, today) == (
        player.points_daily if latest_close == last else 0
    )
    assert player.points_for(Period.WEEKLY, latest_close, today) == sum(
        p for d, p in paid if same_iso_week(d, today)
    )
    assert player.points_for(Period.MONTHLY, latest_close, today) == sum(
        p for d, p in paid if same_month(d, today)
    )
