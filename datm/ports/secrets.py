from __future__ import annotations

from abc import ABC, abstractmethod


class QuoteSecret(ABC):
    @abstractmethod
    def get(self) -> bytes:
        """The server secret that signs quotes: at least 16 bytes, the same in every
        process that shares a database. Never logged, never returned to a caller."""
