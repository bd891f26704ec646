from __future__ import annotations

from abc import ABC, abstractmethod


class RateLimiter(ABC):
    """Admission to an upstream service shared by every process (last.fm allows
    about five requests per second per API key)."""

    @abstractmethod
    def acquire(self) -> None:
        """Wait until one more request may go out. Waits a bounded time, then
        raises ``LastfmUnavailable`` (transient) rather than queueing forever."""
