"""The real adapter pointed at a fake last.fm, and a rate limit that counts."""

from __future__ import annotations

import threading

from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.fake_lastfm import FakeLastfm
from datm.ports.rate_limit import RateLimiter

TIMEOUT_SECONDS = 1.0
RETRIES = 3
FAKES_CA = "the fake's CA"


class CountingLimiter(RateLimiter):
    """Admits every request at once and counts them."""

    def __init__(self) -> None:
        self.acquired = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self.acquired += 1


def adapter_for(
    fake: FakeLastfm,
    limiter: RateLimiter | None = None,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    ca_file: str | None = FAKES_CA,
    retries: int = RETRIES,
    timeout: float = TIMEOUT_SECONDS,
) -> PylastLastfm:
    """The real adapter on ``fake`` with a fast back-off; ``ca_file=None`` trusts only
    the system's CAs."""
    return PylastLastfm(
        api_key or fake.api_key,
        api_secret or fake.api_secret,
        url=fake.url,
        ca_file=str(fake.ca_file) if ca_file == FAKES_CA else ca_file,
        timeout_seconds=timeout,
        retries=retries,
        rate_limiter=limiter,
        backoff_seconds=0.01,
        max_backoff_seconds=0.05,
    )
