"""``FakeLastfm``: the fake last.fm server, started from Python or by ``datm fake-lastfm``.

It serves HTTPS with a certificate from a throw-away CA (``trustme``) and writes that
CA's certificate to ``ca_file``: a client that trusts that file (and only it) talks
to the fake as it would to last.fm. ::

    with FakeLastfm("tests/data/lastfm-recordings") as fake:
        lastfm = PylastLastfm(fake.api_key, fake.api_secret, url=fake.url,
                              ca_file=fake.ca_file)
        fake.inject(Fault.HTTP_503, times=2)
        ...
        assert fake.requests.total == 3
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

from datm.fake_lastfm.cassettes import Recordings
from datm.fake_lastfm.faults import DEFAULT_DELAY_SECONDS, Fault, RequestCounts
from datm.fake_lastfm.handler import FakeLastfmHTTPServer
from datm.fake_lastfm.logins import TOKEN_TTL_SECONDS, Logins
from datm.fake_lastfm.service import FakeLastfmService

# The one API account the fake knows unless told otherwise (documented in the CLI).
DEFAULT_API_KEY = "datm-fake-key"
DEFAULT_API_SECRET = "datm-fake-secret"
STOP_TIMEOUT_SECONDS = 5.0


class FakeLastfm:
    """A running fake last.fm on ``host`` (127.0.0.1 by default) and ``port`` (0: any free
    port). Use it as a context manager, or call ``start`` and ``stop``."""

    def __init__(
        self,
        recordings: str | Path,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_file: str | Path | None = None,
        token_ttl: float = TOKEN_TTL_SECONDS,
    ) -> None:
        self._service = FakeLastfmService(
            Recordings.load(recordings), api_key, api_secret, Logins(token_ttl)
        )
        self._host = host
        self._port = port
        self._ca_out = Path(ca_file) if ca_file is not None else None
        self._scratch: Path | None = None
        self._server: FakeLastfmHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the fake last.fm is already running")
        ca = trustme.CA()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1", "::1", self._host).configure_cert(tls)
        if self._ca_out is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="datm-fake-lastfm-"))
            self._ca_out = self._scratch / "ca.pem"
        self._ca_out.parent.mkdir(parents=True, exist_ok=True)
        ca.cert_pem.write_to_path(str(self._ca_out))
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._server = FakeLastfmHTTPServer((self._host, self._port), self._service, tls, family)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-lastfm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.stopping.set()  # wakes slow replies
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(STOP_TIMEOUT_SECONDS)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = self._ca_out = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- where and who -----------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._running().server_address[1])

    @property
    def origin(self) -> str:
        """``https://host:port``: the fake's web site (the auth page lives here)."""
        host = self._host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass  # a host name
        return f"https://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The web service's URL, what ``LASTFM_URL`` takes."""
        return f"{self.origin}/2.0/"

    @property
    def ca_file(self) -> Path:
        """The PEM file of the CA a client must trust."""
        self._running()
        assert self._ca_out is not None
        return self._ca_out

    @property
    def api_key(self) -> str:
        return self._service.api_key

    @property
    def api_secret(self) -> str:
        return self._service.api_secret

    # --- what tests do -----------------------------------------------------------

    @property
    def requests(self) -> RequestCounts:
        """API requests received so far (faulted ones included)."""
        return self._service.counter.snapshot()

    def inject(
        self, fault: Fault | str, times: int = 1, delay: float = DEFAULT_DELAY_SECONDS
    ) -> None:
        """Commit ``fault`` on the next ``times`` API requests (``delay``: for SLOW)."""
        self._service.faults.add(Fault(fault), times, delay)

    def authorise(self, token: str, user: str) -> None:
        """What a user does on the auth page: allow the application for ``token``."""
        problem = self._service.logins.authorise(token, user)
        if problem is not None:
            raise ValueError(problem)

    def open_session(self, user: str) -> str:
        """A session key for ``user``, as if they had logged in."""
        return self._service.logins.open_session(user)

    def reset(self) -> None:
        """Forget counts and pending faults; serve recordings from their first again."""
        self._service.control("reset", {})

    def _running(self) -> FakeLastfmHTTPServer:
        if self._server is None:
            raise RuntimeError("the fake last.fm is not running: call start()")
        return self._server
