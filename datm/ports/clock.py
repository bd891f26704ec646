from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    def today(self) -> date:
        """The current UTC trading day."""
        return self.now().date()
