"""Why a connection to the game database failed, in words an operator can act on.

psycopg2 raises ``OperationalError`` without a SQLSTATE for every failure at
connect (libpq keeps the server's FATAL only as text), so the reason is read from
libpq's message: the server's FATAL texts, and libpq's own words for what fails
on the client (as libpq 17, the one psycopg2-binary bundles, words them; the
patterns skip the per-host prefix, which older libpq words otherwise). What a
retry may fix (refused, timed out, the server starting or stopping, no free
connection slot, a DNS outage) is ``DatabaseUnavailable``, transient; what only
an operator can fix (no such database or role, a bad password, the CA file, an
unknown host name) is ``DatabaseRefused``, a configuration error.

DNS: "Name or service not known" is an answer (the name does not exist: a typo in
DATABASE_URL, which no retry fixes); "Temporary failure in name resolution" is the
resolver failing to answer, which passes, so only that one is transient.

Messages name the server (host:port) and the database, the role where it is the
reason, never the password: it is never rendered, and is blanked from any libpq
text passed on. A server whose messages are translated (lc_messages) falls through
to the transient default, with libpq's own words as the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

from datm.domain.errors import DatabaseRefused, DatmError, TransientError

DEFAULT_PORT = 5432


class DatabaseUnavailable(TransientError):
    code = "database_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the game database cannot be reached right now ({reason})", reason=reason)


@dataclass(frozen=True)
class Target:
    """Where a connection goes, as the operator configured it (no password)."""

    host: str | None = None
    port: str | None = None
    database: str | None = None
    user: str | None = None
    timeout: str | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Target:
        """From psycopg2's keyword arguments (SQLAlchemy's ``cparams``)."""

        def get(key: str) -> str | None:
            value = params.get(key)
            return None if value is None or value == "" else str(value)

        return cls(get("host"), get("port"), get("dbname"), get("user"), get("connect_timeout"))

    @classmethod
    def of_url(cls, url: URL) -> Target:
        host = url.host or url.query.get("host")  # ?host=/run/postgresql: a socket directory
        port = str(url.port) if url.port else None
        return cls(str(host) if host else None, port, url.database, url.username)

    @property
    def at(self) -> str:
        """``host:port``, or the Unix socket libpq would use."""
        port = self.port or str(DEFAULT_PORT)
        if self.host is None:
            return f"the local socket (port {port})"
        if self.host.startswith("/"):
            return f"socket {self.host}/.s.PGSQL.{port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{port}"

    @property
    def database_at(self) -> str:
        # libpq connects to the database named as the role when none is given.
        return f'"{self.database or self.user or "?"}" on {self.at}'


# Each rule: a pattern searched in libpq's message, and what it means. Refusals are
# tried before the transient ones: with several hosts libpq reports each, and one
# that answers "no such role" speaks for all of them.
Problem = Callable[[re.Match[str], Target], str]
REFUSALS: list[tuple[str, str, Problem]] = [
    (
        r'database "(?P<name>[^"]*)" does not exist',
        "no_database",
        lambda m, t: f'the server at {t.at} has no database "{m["name"]}"',
    ),
    (
        r'role "(?P<name>[^"]*)" does not exist',
        "no_role",
        lambda m, t: f'the server at {t.at} has no role "{m["name"]}"',
    ),
    (
        r'password authentication failed for user "(?P<name>[^"]*)"',
        "bad_password",
        lambda m, t: f'the server at {t.at} refused the password of role "{m["name"]}"',
    ),
    (
        r"fe_sendauth: no password supplied",
        "no_password",
        lambda m, t: (
            f'the server at {t.at} wants a password for role "{t.user or "?"}" '
            "and DATABASE_URL has none"
        ),
    ),
    (
        r'(?P<how>\w+) authentication failed for user "(?P<name>[^"]*)"',
        "bad_password",
        lambda m, t: f'the server at {t.at} refused role "{m["name"]}" ({m["how"]} authentication)',
    ),
    (
        r"no pg_hba\.conf entry for (?P<what>[^\n]*)",
        "not_allowed",
        lambda m, t: (
            f"the server at {t.at} lets no such connection in "
            f"(no pg_hba.conf entry for {m['what']})"
        ),
    ),
    (
        r'role "(?P<name>[^"]*)" is not permitted to log in',
        "not_allowed",
        lambda m, t: f'the server at {t.at} does not let role "{m["name"]}" log in',
    ),
    (
        r'permission denied for database "(?P<name>[^"]*)"',
        "not_allowed",
        lambda m, t: f'role "{t.user or "?"}" may not connect to database "{m["name"]}" on {t.at}',
    ),
    (
        r'database "(?P<name>[^"]*)" is not currently accepting connections',
        "not_allowed",
        lambda m, t: f'database "{m["name"]}" on {t.at} accepts no connections (datallowconn)',
    ),
    (
        r'root certificate file "(?P<file>[^"]*)" does not exist',
        "ca_file",
        lambda m, t: f"the CA file {m['file']} (sslrootcert) does not exist",
    ),
    (
        r'could not read root certificate file "(?P<file>[^"]*)"(?::\s*(?P<why>[^\n]*))?',
        "ca_file",
        lambda m, t: (
            f"the CA file {m['file']} (sslrootcert) cannot be read ({m['why'] or 'unreadable'})"
        ),
    ),
    (
        r"certificate verify failed",
        "certificate",
        lambda m, t: (
            f"the certificate of the server at {t.at} is not signed by the CA "
            "datm trusts (sslrootcert)"
        ),
    ),
    (
        r'server certificate for "(?P<name>[^"]*)"[^\n]* does not match host name',
        "certificate",
        lambda m, t: (
            f'the server at {t.at} shows a certificate for "{m["name"]}", not for this host name'
        ),
    ),
    (
        r"server does not support SSL, but SSL was required",
        "ssl",
        lambda m, t: f"the server at {t.at} does not offer SSL, which sslmode requires",
    ),
    (
        r"(?P<line>(?:could not (?:open|load|read) (?:certificate|private key)|"
        r"certificate present, but not private key|private key file)[^\n]*)",
        "ssl",
        lambda m, t: f"the SSL client certificate or key: {m['line']}",
    ),
    (
        r"(?P<line>(?:invalid (?:connection option|dsn|\w+ value)|"
        r"invalid integer value|invalid port number)[^\n]*)",
        "bad_option",
        lambda m, t: f"a connection option is wrong ({m['line']})",
    ),
    (
        r'could not translate host name "(?P<name>[^"]*)" to address: '
        r"(?!Temporary failure|Try again)(?P<why>[^\n]*)",
        "unknown_host",
        lambda m, t: f'DNS knows no host "{m["name"]}" ({m["why"]})',
    ),
]
TRANSIENT: list[tuple[str, Problem]] = [
    (r"Connection refused", lambda m, t: f"connection refused at {t.at}"),
    (
        r'on socket "(?P<socket>[^"]*)" failed: No such file or directory',
        lambda m, t: f"no server on socket {m['socket']}",
    ),
    (
        r"timeout expired",
        lambda m, t: f"no answer from {t.at} within {t.timeout or '?'} s",
    ),
    (
        r"the database system (?P<state>is [^\n]*)",
        lambda m, t: f"the server at {t.at} {m['state']}",
    ),
    (
        r"(?P<line>sorry, too many clients already|remaining connection slots are reserved"
        r"|too many connections for (?:role|database)[^\n]*)",
        lambda m, t: f"the server at {t.at} has no connection slot free ({m['line']})",
    ),
    (
        r'could not translate host name "(?P<name>[^"]*)" to address: (?P<why>[^\n]*)',
        lambda m, t: f'DNS could not resolve "{m["name"]}" just now ({m["why"]})',
    ),
]
_SERVER = re.compile(
    r'connection to server (?:at "(?P<host>[^"]*)"(?: \([^)]*\))?, port (?P<port>\d+)'
    r'|on socket "(?P<socket>[^"]*)")\s+failed:\s*'
)


def connect_failure(message: str, target: Target | None = None) -> DatmError:
    """The datm error for a failure to connect, from libpq's ``message``. Without
    ``target``, the server is read from the message (libpq names it)."""
    if target is None:
        target = _target_from(message)
    for pattern, reason, problem in REFUSALS:
        found = re.search(pattern, message)
        if found:
            return DatabaseRefused(reason, target.at, problem(found, target))
    for pattern, problem in TRANSIENT:
        found = re.search(pattern, message)
        if found:
            return DatabaseUnavailable(problem(found, target))
    lines = (line.strip() for line in _SERVER.sub("", message).splitlines())
    first = next((line for line in lines if line), "no reason given")
    return DatabaseUnavailable(f"{target.at}: {first}")


def is_connect_failure(message: str) -> bool:
    """Whether a message without SQLSTATE is one libpq gives when it cannot connect."""
    return any(re.search(pattern, message) for pattern, _, _ in REFUSALS) or any(
        re.search(pattern, message) for pattern, _ in TRANSIENT
    )


def _target_from(message: str) -> Target:
    found = _SERVER.search(message)
    if found is None:
        return Target(host="?")
    if found["socket"]:
        directory, _, port = found["socket"].rpartition("/.s.PGSQL.")
        return Target(host=directory or found["socket"], port=port or None)
    return Target(host=found["host"], port=found["port"])


def install(engine: Engine) -> None:
    """Make every connection ``engine`` opens fail with a datm error that says why.

    SQLAlchemy's ``do_connect`` hook is the one place that sees both the failure and
    the connection's parameters (the server, the database, the role) on every path:
    ``Engine.connect``, ``raw_connection`` and the pool's reconnects alike."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.Error as error:
            failure = connect_failure(_without_password(error, cparams), Target.of(cparams))
            raise failure from error


def _without_password(error: BaseException, params: Mapping[str, Any]) -> str:
    """libpq's text with the password blanked, should any message ever echo it."""
    message, password = str(error), params.get("password")
    return message.replace(str(password), "***") if password else message
