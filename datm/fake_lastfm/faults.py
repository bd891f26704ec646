"""Faults the fake can be told to commit, and its request counts.

Faults wait in a queue; each API request takes the next one (if any) instead of
its proper answer, so ``inject(Fault.HTTP_503, times=2)`` fails exactly the next
two requests. A ``SLOW`` fault delays the proper answer; ``DROP`` closes the
connection without a word.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

DEFAULT_DELAY_SECONDS = 2.0


class Fault(StrEnum):
    HTTP_500 = "http-500"
    HTTP_503 = "http-503"
    OPERATION_FAILED = "error-8"
    SERVICE_OFFLINE = "error-11"
    TEMPORARILY_UNAVAILABLE = "error-16"
    RATE_LIMITED = "error-29"
    MALFORMED_XML = "malformed-xml"
    SLOW = "slow"
    DROP = "drop"

    @property
    def error_code(self) -> int | None:
        """The last.fm error code this fault answers with, if it is one."""
        name, _, code = self.value.partition("-")
        return int(code) if name == "error" else None


@dataclass(frozen=True, slots=True)
class Injected:
    fault: Fault
    delay: float = DEFAULT_DELAY_SECONDS


class FaultQueue:
    """The faults still to commit, in order. Thread-safe."""

    def __init__(self) -> None:
        self._queue: deque[Injected] = deque()
        self._lock = threading.Lock()

    def add(self, fault: Fault, times: int = 1, delay: float = DEFAULT_DELAY_SECONDS) -> None:
        if times < 1:
            raise ValueError("times counts from 1")
        if not 0 <= delay <= 600:
            raise ValueError("delay must be between 0 and 600 seconds")
        with self._lock:
            self._queue.extend(Injected(Fault(fault), delay) for _ in range(times))

    def take(self) -> Injected | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """API requests the fake received: in all, and per method as the client named it."""

    total: int = 0
    by_method: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def of(self, method: str) -> int:
        return self.by_method.get(method, 0)


class RequestCounter:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def count(self, method: str) -> None:
        with self._lock:
            self._total += 1
            self._counts[method] += 1

    def snapshot(self) -> RequestCounts:
        with self._lock:
            return RequestCounts(self._total, MappingProxyType(dict(self._counts)))

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._total = 0
