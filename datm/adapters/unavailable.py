"""Stand-ins for what a wiring lacks: every use fails at once, naming the setting."""

from __future__ import annotations

from datm.domain.errors import CapabilityError
from datm.ports.market import MarketLock, MarketLockHolder
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

DATABASE = ("database", "DATM_DATABASE_URL (the web's last.fm-only wiring has none)")


class NoDatabase(UnitOfWorkFactory):
    def __call__(self) -> UnitOfWork:
        raise CapabilityError(*DATABASE)


class NoMarketLock(MarketLock):
    def acquire(self, timeout: float) -> None:
        raise CapabilityError(*DATABASE)

    def release(self) -> None:
        raise CapabilityError(*DATABASE)

    def is_open(self) -> bool:
        raise CapabilityError(*DATABASE)

    def holder(self) -> MarketLockHolder | None:
        raise CapabilityError(*DATABASE)

    def close(self) -> None:
        pass  # holds nothing, owns no connection: closing the web's wiring must not fail


class NoQuoteSecret(QuoteSecret):
    def get(self) -> bytes:
        raise CapabilityError(*DATABASE)
