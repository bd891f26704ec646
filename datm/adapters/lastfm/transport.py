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
  pool that nobody would close (``datm.close``);
- ``with_rate_limiter`` gives a transport under another limit on the same pool
  (the close's share of the rate): one pool to close, one set of connections.

Proxy variables of the environment (HTTPS_PROXY) do not apply: this transport
talks to last.fm directly.
"""

from __future__ import annotations

import copy
import ssl
import threading

import httpx2 as httpx

from datm.domain.errors import ProgrammingError
from datm.ports.rate_limit import RateLimiter

CLOSED = "the last.fm client was closed (datm.close): build a new injector to use it again"


class _Connections:
    """The pooled connections, shared by every transport made from one: opened on
    first use, closed once and for all by ``shutdown``."""

    def __init__(self, ca_file: str | None) -> None:
        self._ca_file = ca_file
        self._pool: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()
        self.shut = False

    def open(self) -> httpx.HTTPTransport:
        # Built on first use: reading the CA file is IO, which providers must not do.
        with self._lock:
            if self.shut:  # shut down while this request waited for the rate limit
                raise ProgrammingError(CLOSED)
            if self._pool is None:
                tls = ssl.create_default_context(cafile=self._ca_file)
                self._pool = httpx.HTTPTransport(verify=tls, trust_env=False)
            return self._pool

    def shutdown(self) -> None:
        with self._lock:
            self.shut = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


class LastfmTransport(httpx.BaseTransport):
    def __init__(self, rate_limiter: RateLimiter, timeout: float, ca_file: str | None) -> None:
        self._rate_limiter = rate_limiter
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._connections = _Connections(ca_file)

    def with_rate_limiter(self, rate_limiter: RateLimiter) -> LastfmTransport:
        """This transport under ``rate_limiter`` instead, on the same connections:
        shutting either down shuts both."""
        twin = copy.copy(self)  # shallow: the copy shares ``_connections``
        twin._rate_limiter = rate_limiter
        return twin

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Checked before the rate limit, so a closed client waits for no slot. pylast
        # wraps the error in NetworkError; errors.translate hands it back unchanged.
        if self._connections.shut:
            raise ProgrammingError(CLOSED)
        self._rate_limiter.acquire()
        request.extensions["timeout"] = self._timeout
        return self._connections.open().handle_request(request)

    def close(self) -> None:
        """Called by pylast's per-call client as it closes: the pool stays open."""

    def shutdown(self) -> None:
        """Close the pooled connections; idempotent. Later requests are refused."""
        self._connections.shutdown()
