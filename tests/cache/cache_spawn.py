"""Worker processes for the multi-process cache tests, started with ``spawn`` so
that each builds its Redis clients, cache and limiter from scratch, as an api
process does, and released together (``cache_workers.Start``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

import cache_workers as workers

SPAWN = get_context("spawn")
PROCESSES = 3
SETTLE_SECONDS = 0.5  # between every worker being ready and the common start


@contextmanager
def processes(
    target: Callable[..., None], *args: Any, count: int = PROCESSES
) -> Iterator[tuple[float, Callable[[], list[dict[str, Any]]]]]:
    """Start ``count`` workers running ``target(*args, start, queue)``; yield the
    common start time and a function collecting their reports."""
    start = workers.Start(SPAWN.Barrier(count + 1), SPAWN.Event(), SPAWN.Value("d", 0.0))
    out = SPAWN.Queue()
    children = [SPAWN.Process(target=target, args=(*args, start, out)) for _ in range(count)]
    for child in children:
        child.start()
    try:
        start.ready.wait(workers.WAIT_SECONDS)
        start.at.value = time.time() + SETTLE_SECONDS
        start.go.set()

        def reports() -> list[dict[str, Any]]:
            return [out.get(timeout=workers.WAIT_SECONDS) for _ in children]

        yield start.at.value, reports
        for child in children:
            child.join(workers.WAIT_SECONDS)
            assert child.exitcode == 0
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join(5)
