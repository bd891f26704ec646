"""The one road from pylast to last.fm: an httpx transport pylast's client mounts.

pylast 7 opens a new ``httpx2.Client`` for every call, with its own module-wide SSL
context and a fixed timeout, and mounts whatever transports its network's
``proxy`` mapping holds. datm hands it this transport for ``https://``, so that,
without patching pylast or ``ssl``:

- the rate limit is taken before every HTTP request, retries included;
- the timeout is datm's (``lastfm_timeout_seconds``), for connect, read and write;
- TLS trusts ``lastfm_ca_file`` when one is set (the fake server's CA), else the
  system's CAs;
- connections are pooled across calls: pylast's per-call client "closes" this
  transport, which keeps its pool; ``shutdown`` really closes it, for good: a
  request after it fails with ``ProgrammingError`` rather than opening a new
  pool that nobody would close (``datm.close``).

Proxy variables of the environment (HTTPS_PROXY) do not apply: this transport
talks to last.fm directly.
"""

from __future__ import annotations

import ssl
import threading

import httpx2 as httpx

from datm.domain.errors import ProgrammingError
from datm.ports.rate_limit import RateLimiter

CLOSED = "the last.fm client was closed (datm.close): build a new injector to use it again"


class LastfmTransport(httpx.BaseTransport):
    def __init__(self, rate_limiter: RateLimiter, timeout: float, ca_file: str | None) -> None:
        self._rate_limiter = rate_limiter
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._ca_file = ca_file
        self._pool: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()
        self._shut = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Checked before the rate limit, so a closed client waits for no slot. pylast
        # wraps the error in NetworkError; errors.translate hands it back unchanged.
        if self._shut:
            raise ProgrammingError(CLOSED)
        self._rate_limiter.acquire()
        request.extensions["timeout"] = self._timeout
        return self._open().handle_request(request)

    def close(self) -> None:
        """Called by pylast's per-call client as it closes: the pool stays open."""

    def shutdown(self) -> None:
        """Close the pooled connections; idempotent. Later requests are refused."""
        with self._lock:
            self._shut = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _open(self) -> httpx.HTTPTransport:
        # Built on first use: reading the CA file is IO, which providers must not do.
        with self._lock:
            if self._shut:  # shut down while this request waited for the rate limit
                raise ProgrammingError(CLOSED)
            if self._pool is None:
                tls = ssl.create_default_context(cafile=self._ca_file)
                self._pool = httpx.HTTPTransport(verify=tls, trust_env=False)
            return self._pool
