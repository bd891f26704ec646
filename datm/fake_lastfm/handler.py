"""HTTP for the fake last.fm: parse a request, ask the service, write its ``Reply``.

Every response closes its connection (``Connection: close``): each API call then
is one TLS connection, which keeps the request counts and the dropped-connection
fault simple. The log names method and path, never the query or the body, where
tokens, signatures and session keys travel.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from datm.fake_lastfm.cassettes import parameters
from datm.fake_lastfm.service import FakeLastfmService, Reply

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
HANDSHAKE_TIMEOUT_SECONDS = 5.0


class FakeLastfmHTTPServer(ThreadingHTTPServer):
    """A threading HTTPS server: TLS is set up per connection, in its own thread,
    so a slow client cannot hold up the accept loop."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of clients; they
    # retransmit a second later, which a client's timeout sees as a dead server.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        service: FakeLastfmService,
        tls: ssl.SSLContext,
        family: socket.AddressFamily = socket.AF_INET,
    ) -> None:
        self.address_family = family
        self.service = service
        self.tls = tls
        self.stopping = threading.Event()
        super().__init__(address, FakeLastfmHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        raw, address = self.socket.accept()
        wrapped = self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-handshake or mid-reply is routine here.
        logger.debug("fake last.fm: connection from %s failed", client_address, exc_info=True)


class FakeLastfmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLastfmHTTPServer
    timeout = 30.0  # an idle connection is closed after this long
    server_version = "datm-fake-lastfm"

    def setup(self) -> None:
        self.request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        self._route(body="")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(Reply(413, "request too large", "text/plain"))
            return
        self._route(body=self.rfile.read(length).decode("utf-8", "replace"))

    def _route(self, body: str) -> None:
        url = urlsplit(self.path)
        params = parameters(url.query)
        params.update(parameters(body))
        service = self.server.service
        path = url.path.rstrip("/")
        if path == "/2.0":
            self._send(service.api(params))
        elif path == "/api/auth" and self.command == "GET":
            self._send(service.auth_page(params))
        elif path.startswith("/_fake/"):
            self._send(service.control(path.removeprefix("/_fake/"), params))
        else:
            self._send(Reply(404, "not found", "text/plain"))

    def _send(self, reply: Reply) -> None:
        if reply.delay and self.server.stopping.wait(reply.delay):
            reply = Reply(0, drop=True)  # the server is stopping: do not hold it up
        self.close_connection = True
        if reply.drop:
            return  # finish() closes the socket: the client sees the connection end
        payload = reply.body.encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        if reply.location:
            self.send_header("Location", reply.location)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake last.fm: %s", format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("fake last.fm: %s %s -> %s", self.command, urlsplit(self.path).path, code)
