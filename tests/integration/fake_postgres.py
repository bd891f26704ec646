"""A listener on loopback that speaks just enough of PostgreSQL's protocol to fail.

The test server trusts loopback and speaks no SSL, and its configuration is shared
(nobody changes pg_hba.conf for a test), so a refused password, a server starting
up or a CA file that does not vouch for the server cannot be had from it. This
fake answers the startup packet the way a real server refusing would: a FATAL
ErrorResponse (after a password request, if asked), TLS with a certificate of a
throw-away CA, or silence. libpq then prints its message as it really does, and
datm reads that: the text is never written by a test.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
Behaviour = Callable[[socket.socket], None]


def error_response(sqlstate: str, message: str) -> bytes:
    fields = [(b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message)]
    body = b"".join(key + value.encode() + b"\0" for key, value in fields) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def fatal(sqlstate: str, message: str) -> Behaviour:
    """Refuse the startup packet, as a server does for no database, no role..."""
    return lambda conn: conn.sendall(error_response(sqlstate, message))


def password_then_fatal(sqlstate: str, message: str) -> Behaviour:
    """Ask for a clear-text password, read it, then refuse (a wrong password)."""

    def behave(conn: socket.socket) -> None:
        conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        conn.recv(4096)
        conn.sendall(error_response(sqlstate, message))

    return behave


def silent(conn: socket.socket) -> None:
    """Never answer: the client's connect_timeout runs out."""
    conn.recv(1)  # returns when the client gives up and closes


@contextlib.contextmanager
def serving(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A fake server on 127.0.0.1; yields its port. With ``tls`` it accepts SSL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(OSError, ssl.SSLError, struct.error):
                _answer(conn, behaviour, tls)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _answer(conn: socket.socket, behaviour: Behaviour, tls: ssl.SSLContext | None) -> None:
    conn.settimeout(10)
    code = _read_startup(conn)
    while code in (SSL_REQUEST, GSS_REQUEST):
        if code == SSL_REQUEST and tls is not None:
            conn.sendall(b"S")
            conn = tls.wrap_socket(conn, server_side=True)
        else:
            conn.sendall(b"N")
        code = _read_startup(conn)
    behaviour(conn)


def _read_startup(conn: socket.socket) -> int:
    (length,) = struct.unpack("!I", _exactly(conn, 4))
    body = _exactly(conn, length - 4)
    (code,) = struct.unpack("!I", body[:4])
    return int(code)


def _exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("the client hung up")
        data += chunk
    return data
