"""What the worker processes of ``test_fallback_share_processes.py`` run.

Each worker builds its last.fm limits with ``lastfm_limiters`` (what the wiring
builds) on a Redis client of its own, waits at ``Start`` until every worker is
ready, and acquires as fast as the limits admit from a few threads: the api's
(the shared limit) and, in a close process, the close's (``Limiters.fresh``). It
notes when each acquisition was asked for and when the window admitted it (the
time the window counted it at, within microseconds), whose it was, and whether a
fallback admitted it, and when ``RedisHealth`` said Redis went away
and came back. One dict of plain values goes on the queue. Workers catch
``Exception`` on purpose: the test asserts there were none.
"""

from __future__ import annotations

import logging
import threading
import time
from multiprocessing.queues import Queue
from typing import Any

from cache_workers import Start, in_threads
from limits.storage import MemoryStorage, RedisStorage

from datm.adapters.redis.client import RedisHealth, address_of, connect
from datm.settings import Settings
from datm.wiring.lastfm import lastfm_limiters

_noted = threading.local()


class _Transitions(logging.Handler):
    """When ``RedisHealth`` logged Redis going away (WARNING) and back (INFO)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.down: list[float] = []
        self.back: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.down if record.levelno >= logging.WARNING else self.back).append(record.created)


def _noting_admissions() -> None:
    """Note, per thread, when a window last admitted and whether it was an
    in-process one (in this process, only the Redis limits' fallbacks are): the
    time taken just before ``limits`` takes the time it counts the entry at, not
    after the round trip to Redis, which may take a few ms under load and would
    make admissions look late by that much."""

    def noting(acquire: Any, by_fallback: bool) -> Any:
        def acquire_entry(self: Any, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
            at = time.time()
            admitted = bool(acquire(self, key, limit, expiry, amount))
            if admitted:
                _noted.at = at
                _noted.by_fallback = getattr(_noted, "by_fallback", False) or by_fallback
            return admitted

        return acquire_entry

    MemoryStorage.acquire_entry = noting(MemoryStorage.acquire_entry, True)  # type: ignore[method-assign]
    RedisStorage.acquire_entry = noting(RedisStorage.acquire_entry, False)  # type: ignore[method-assign]


def acquire_through_outage(
    redis_url: str,
    config: dict[str, Any],
    api_threads: int,
    close_threads: int,
    seconds: float,
    start: Start,
    out: Queue[Any],
) -> None:
    """For ``seconds``, ``api_threads`` acquire the shared limit and
    ``close_threads`` the close's then the shared, each as fast as admitted."""
    _noting_admissions()
    transitions = _Transitions()
    logger = logging.getLogger("datm.adapters.redis.client")
    logger.addHandler(transitions)
    logger.setLevel(logging.INFO)
    settings = Settings.load({**config, "REDIS_URL": redis_url}, environ={})
    client = connect(redis_url, settings.redis_timeout_seconds)
    health = RedisHealth(address=address_of(client))  # the wiring's back-off
    limiters = lastfm_limiters(settings, client, health)
    roles = [("api", limiters.shared)] * api_threads + [("close", limiters.fresh)] * close_threads
    admitted: list[tuple[float, float, str, bool]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        who, limiter = roles[thread]
        while time.time() < began + seconds:
            _noted.by_fallback = False
            asked = time.time()
            try:
                limiter.acquire()
            except Exception as error:
                errors.append(repr(error))
                return
            # The close's acquisitions pass two windows: the last is the shared one.
            with lock:
                admitted.append((asked, _noted.at, who, _noted.by_fallback))

    # One acquisition before the start opens the connection and loads the Lua
    # scripts: otherwise the first admissions are noted a round trip or three
    # after the time the window counted them at, and look a window late.
    limiters.shared.acquire()
    began = start.wait()
    in_threads(len(roles), work)
    client.close()
    out.put(
        {
            "admitted": admitted,
            "errors": errors,
            "down": transitions.down,
            "back": transitions.back,
            "closes": close_threads > 0,
        }
    )
