"""The record of one day's close, which makes a rerun resume instead of repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CloseRecord:
    day: date
    started_at: datetime
    finished_at: datetime | None = None
    artists_closed: int = 0

    @property
    def finished(self) -> bool:
        return self.finished_at is not None
