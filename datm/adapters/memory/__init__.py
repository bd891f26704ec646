"""The in-memory backend: a shipped, thread-safe store for tests, demos and one process.

It behaves like the Postgres backend: copies on load, row locks held until the
transaction ends, writes back at commit, and a market read/write lock.
"""

from datm.adapters.memory.market import InMemoryMarketGate, InMemoryMarketLock
from datm.adapters.memory.store import InMemoryStore
from datm.adapters.memory.unit_of_work import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = [
    "InMemoryMarketGate",
    "InMemoryMarketLock",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
]
