"""Whole-call retries on Conflict: bounded, and Busy when they run out."""

from __future__ import annotations

import pytest

from datm.domain.errors import Busy, Conflict, InvalidInput
from datm.services.retry import retry_on_conflict


class Flaky:
    """Raises ``Conflict`` for its first ``conflicts`` calls, then answers."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls = 0

    def __call__(self, value: int) -> int:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise Conflict("lost a race")
        return value * 2


def test_a_call_that_succeeds_at_once_runs_once() -> None:
    flaky = Flaky(conflicts=0)
    assert retry_on_conflict(attempts=3)(flaky)(21) == 42
    assert flaky.calls == 1


@pytest.mark.parametrize("conflicts", [1, 2])
def test_conflicts_are_retried_until_the_call_succeeds(conflicts: int) -> None:
    flaky = Flaky(conflicts)
    assert retry_on_conflict(attempts=3)(flaky)(5) == 10
    assert flaky.calls == conflicts + 1


@pytest.mark.parametrize("attempts", [1, 2, 4])
def test_after_the_last_attempt_the_caller_gets_busy(attempts: int) -> None:
    flaky = Flaky(conflicts=attempts)
    with pytest.raises(Busy):
        retry_on_conflict(attempts=attempts)(flaky)(1)
    assert flaky.calls == attempts  # the first try counts as an attempt


def test_other_errors_are_not_retried() -> None:
    calls = []

    @retry_on_conflict(attempts=5)
    def refuse() -> None:
        calls.append(1)
        raise InvalidInput("artist", "not an artist")

    with pytest.raises(InvalidInput):
        refuse()
    assert len(calls) == 1
