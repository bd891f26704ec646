"""Whole-transaction retries: a lost race (``Conflict``) re-runs the service body."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from datm.domain.errors import Busy, Conflict

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_ATTEMPTS = 8


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
                reraise=False,
            )
            try:
                return retrying(attempt, *args, **kwargs)
            except RetryError:
                raise Busy(attempts) from None

        return wrapper

    return decorate
