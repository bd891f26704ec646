"""Giving back what datm opened: ``close(injector)`` and ``open_injector``.

An injector opens things lazily, on first use, and only what its wiring uses:
the database pool (Postgres), the market lock's own connection (while a close
holds it), the HTTP connections to last.fm, the Redis connection pool. Each
provider that opens one of them registers how to close it in the injector's
``Resources``; ``close(injector)`` closes them, newest first (the market lock's
connection goes back before the pool it came from is disposed of). What was
never built is never built just to be closed.

After ``close`` the injector stays closed. Anything that would need a
connection again fails at once with ``ProgrammingError`` ("datm was closed")
instead of quietly opening a new one: a program using datm after its lifespan
ended has a bug, and a pool reopened behind its back would outlive the
shutdown that was meant to end it (and show up in ``pg_stat_activity`` again).
Wirings that hold nothing outside the process (the in-memory store, the
offline catalogue) have nothing to close and go on working.

Use it from a web framework's lifespan (the calls are blocking and short)::

    @contextlib.asynccontextmanager
    async def lifespan(app):
        with datm.open_injector(config) as injector:
            app.state.datm = injector
            yield

Close after the last request has finished: a unit of work still running then
gets its connection closed when it gives it back, and a new one is refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from injector import Injector, Module

from datm.domain.errors import ProgrammingError

if TYPE_CHECKING:
    from datm.ports.clock import Clock
    from datm.wiring import Wiring

log = logging.getLogger(__name__)

CLOSED = "datm was closed (datm.close): build a new injector to use it again"


class Resources:
    """What one injector opened and how to close each; thread-safe. Bound once per
    injector (``SettingsModule``); providers ``add`` to it as they open things."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closers: list[tuple[str, Callable[[], None]]] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise ``ProgrammingError`` once ``close`` has begun."""
        if self._closed:
            raise ProgrammingError(CLOSED)

    def add(self, name: str, close: Callable[[], None]) -> None:
        """Close ``name`` with ``close()`` when the injector is closed. Refused after
        close: a provider run then would open what nobody will close."""
        with self._lock:
            self.check_open()
            self._closers.append((name, close))

    def close(self) -> None:
        """Close everything, newest first; idempotent. A failure to close one thing
        is logged and the rest are closed anyway: a shutdown must finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            closers, self._closers = self._closers[::-1], []
        for name, close in closers:
            try:
                close()
            except Exception:
                log.warning("closing %s failed; closing the rest", name, exc_info=True)
        if closers:
            log.info("datm closed %s", ", ".join(name for name, _ in closers))


def close(injector: Injector) -> None:
    """Release what ``injector`` opened: the database pool, the market lock's
    connection (releasing the lock if a close of this process holds it), the
    last.fm HTTP connections and the Redis pool. Idempotent; afterwards anything
    needing a connection raises ``ProgrammingError``."""
    # Asked of the binder: an auto-binding injector would make a Resources up.
    if not injector.binder.has_explicit_binding_for(Resources):
        raise ProgrammingError("this injector was not built by datm.create_injector")
    injector.get(Resources).close()


@contextmanager
def open_injector(
    config: object | Mapping[str, Any] | None = None,
    *,
    wiring: Wiring = "auto",
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    extra: Sequence[Module] = (),
) -> Iterator[Injector]:
    """``create_injector``'s injector for a ``with`` block, closed when it ends."""
    from datm.wiring import create_injector  # not at the top: the wiring imports this module

    injector = create_injector(config, wiring=wiring, clock=clock, environ=environ, extra=extra)
    try:
        yield injector
    finally:
        close(injector)
