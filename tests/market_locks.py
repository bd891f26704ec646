"""A game's market lock with hooks: how tests reach into the close's cut-off (the
moment the lock is held, the moment it is let go) without a seam in datm."""

from __future__ import annotations

from collections.abc import Callable

from datm.ports.market import MarketLock, MarketLockHolder


class HookedLock(MarketLock):
    """``inner``, calling ``on_held`` once it is held and ``on_released`` once let go."""

    def __init__(
        self,
        inner: MarketLock,
        on_held: Callable[[], object] | None = None,
        on_released: Callable[[], object] | None = None,
    ) -> None:
        self._inner = inner
        self._on_held = on_held
        self._on_released = on_released

    def acquire(self, timeout: float) -> None:
        self._inner.acquire(timeout)
        if self._on_held is not None:
            self._on_held()

    def release(self) -> None:
        self._inner.release()
        if self._on_released is not None:
            self._on_released()

    def is_open(self) -> bool:
        return self._inner.is_open()

    def holder(self) -> MarketLockHolder | None:
        return self._inner.holder()

    def close(self) -> None:
        self._inner.close()
