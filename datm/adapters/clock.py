"""Clocks: the system's, and a manual one for tests and replays."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from datm.domain.errors import InvalidInput
from datm.ports.clock import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("time", "must be timezone-aware (a naive time has no UTC meaning)")
    return moment.astimezone(UTC)


class ManualClock(Clock):
    """A clock that moves only when told; safe to move from one thread while
    others read it."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        moment = _utc(moment)
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        """Move on by ``delta`` (backwards if negative); returns the new time."""
        with self._lock:
            self._now += delta
            return self._now
