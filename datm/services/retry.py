"""Whole-transaction retries: a lost race (``Conflict``) re-runs the service body.

Every retry is a WARNING (what ran, the conflict, the attempt, the wait), and so
is running out of attempts: with row locks queueing the usual races, a retry is
rare enough that each one is worth a line, and a burst of them says where the
contention is.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from datm.domain.errors import Busy, Conflict

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 8


def _log_retry(name: str, attempts: int) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        # A Conflict's reason is a SQLSTATE and a constraint's name, or which row the
        # memory store could not lock: never a parameter of the transaction.
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "%s: %s on attempt %d of %d; running it again in %.3f s",
            name,
            error,
            state.attempt_number,
            attempts,
            wait,
        )

    return before_sleep


def retry_on_conflict(
    attempts: int = DEFAULT_ATTEMPTS,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Re-run the whole call on ``Conflict`` with jittered exponential back-off;
    after ``attempts`` tries the caller gets ``Busy`` (a transient error).

    The first try runs bare: nearly every call succeeds at once, and building
    tenacity's machinery for it cost a twentieth of a trade's client time. A
    first ``Conflict`` is handed to tenacity as its first attempt's outcome, so
    the retries, back-off and limit are tenacity's, as if it had run it."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        name = getattr(func, "__qualname__", type(func).__qualname__)  # any callable
        before_sleep = _log_retry(name, attempts)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except Conflict as conflict:
                first: Conflict | None = conflict

            def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
                nonlocal first
                if first is not None:
                    outcome, first = first, None
                    raise outcome
                return func(*args, **kwargs)

            retrying = Retrying(
                retry=retry_if_exception_type(Conflict),
                stop=stop_after_attempt(attempts),
                wait=wait_random_exponential(multiplier=0.002, max=0.25),
                before_sleep=before_sleep,
                reraise=False,
            )
            try:
                return retrying(attempt, *args, **kwargs)
            except RetryError as exhausted:
                log.warning(
                    "%s: still conflicting after %d attempts (%s); the caller gets Busy",
                    name,
                    attempts,
                    exhausted.last_attempt.exception(),
                )
                raise Busy(attempts) from None

        return wrapper

    return decorate
