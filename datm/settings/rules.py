"""What each kind of setting accepts.

A check returns the value datm keeps or raises ``PydanticCustomError`` of type
``PROBLEM`` with a predicate ("out of range", "not a whole number") that
``datm.settings.model`` turns into a ``ConfigurationError``. No problem ever quotes
the value: it may be a secret, or a URL with a password in it.

Standard library only (and pydantic's error type): the web's wiring must import
no database driver, so DATABASE_URL is parsed here by SQLAlchemy's own grammar
rather than by SQLAlchemy.
"""

from __future__ import annotations

import numbers
import os
import re
import ssl
from typing import Any, NoReturn
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from pydantic_core import PydanticCustomError

from datm.domain.quotes import MIN_SECRET_BYTES

PROBLEM = "datm_setting"

DATABASE_SCHEMES = ("postgresql", "postgresql+psycopg2", "postgres")
DATABASE_URL_ALLOWED = (
    "postgresql://[user[:password]@]host[:port]/database (or postgresql+psycopg2://, "
    "postgres://); through a socket: postgresql://user@/database?host=/run/postgresql"
)
REDIS_URL_ALLOWED = (
    "redis://[[user]:password@]host[:port][/db], rediss://... (TLS, may add "
    "?ssl_cert_reqs=none|optional|required, ssl_ca_certs=, ssl_check_hostname=) or "
    "unix:///path/to/redis.sock[?db=N]; datm sets the timeouts itself"
)
LASTFM_URL_ALLOWED = (
    "an https:// URL with a host and no user, query or fragment, "
    "e.g. https://127.0.0.1:8443/2.0/ (pylast talks TLS only); unset: last.fm itself"
)
CA_FILE_ALLOWED = "the path of a readable PEM file of CA certificates"
KEY_ALLOWED = "text without spaces or control characters; unset: the offline catalogue"
QUOTE_SECRET_ALLOWED = (
    f"at least {MIN_SECRET_BYTES} bytes of UTF-8, without spaces or newlines at its start "
    "or end; unset: a random one per process (memory) or the one stored in the database"
)

_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
# sqlalchemy.engine.url._parse_url's grammar (SQLAlchemy 2), verbatim: a URL that
# passes here is split into the same user, host, port and database by make_url.
_SQLALCHEMY_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)
_HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?")
_PORT = re.compile(r"[0-9]{1,5}")
_REDIS_DB = re.compile(r"[0-9]{1,5}")
_REDIS_TLS_QUERY = {
    "ssl_cert_reqs": {"none", "optional", "required"},
    "ssl_check_hostname": {"true", "false", "yes", "no", "1", "0"},
    "ssl_ca_certs": None,  # any path; redis-py opens it at the first connection
}


def refuse(problem: str) -> NoReturn:
    raise PydanticCustomError(PROBLEM, problem)


# --- kinds ------------------------------------------------------------------------


def whole(value: Any) -> int:
    """An int, or its decimal digits (the environment's strings). Not a bool (an
    int to Python), and not a float, even 2.0: 2.7 used to become 2 unnoticed."""
    if isinstance(value, bool):
        refuse("true or false, not a whole number")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            refuse("empty")
        if _WHOLE.fullmatch(text):
            return int(text)
    refuse("not a whole number")


def number(value: Any) -> float:
    """A real number, or its text; pydantic then refuses NaN, infinity and the range."""
    if isinstance(value, bool):
        refuse("true or false, not a number")
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except (OverflowError, ValueError, TypeError):  # an int too large for a float
            refuse("out of range")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            refuse("empty")
        try:
            return float(text)
        except ValueError:
            refuse("not a number")
    refuse("not a number")


def optional_text(value: Any) -> str | None:
    """Text, with None and "" both meaning unset (the environment cannot say None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        refuse("not text")
    return str(value) or None


def optional_path(value: Any) -> str | None:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return optional_text(value)


# --- texts ------------------------------------------------------------------------


def _clean(value: str) -> bool:
    return not any(c.isspace() or not c.isprintable() for c in value)


def token(value: str | None) -> str | None:
    """A last.fm API key or secret: hex in practice; no spaces or control characters
    (a secret file's trailing newline would make every signature wrong)."""
    if value is not None and not _clean(value):
        refuse("text with spaces or control characters in it")
    return value


def quote_secret(value: str | None) -> str | None:
    """The rule ConfiguredQuoteSecret applies (MIN_SECRET_BYTES of UTF-8), checked at
    start instead of at the first quote."""
    if value is None:
        return None
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates: undecodable bytes from os.environ
        refuse("not valid text (it cannot be written as UTF-8)")
    if value != value.strip():
        # Two processes, one with a trailing newline: each refuses the other's quotes.
        refuse("padded with spaces or a newline at its start or end")
    if size < MIN_SECRET_BYTES:
        refuse(f"shorter than {MIN_SECRET_BYTES} bytes of UTF-8")
    return value


def ca_file(value: str | None) -> str | None:
    """Read now, once: a missing or garbled CA file would otherwise surface as a TLS
    failure at the first last.fm call."""
    if value is None:
        return None
    if not os.path.isfile(value):  # False, not an error, for a path with a NUL
        refuse("not an existing file")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=value)
    except ssl.SSLError:
        refuse("not a PEM file of CA certificates")
    except PermissionError:
        refuse("a file this process may not read")
    except (OSError, ValueError):
        refuse("not a readable file")
    return value


# --- URLs -------------------------------------------------------------------------


def _url_text(value: str) -> None:
    if not _clean(value):
        refuse("text with spaces or control characters in it (a URL percent-encodes them)")


def _split(value: str) -> SplitResult:
    try:
        return urlsplit(value)
    except ValueError:  # an unclosed [ of an IPv6 host
        refuse("not a URL")


def _port(port: str | None) -> None:
    if port is None:
        return
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        refuse("a URL whose port is not a number from 1 to 65535")


def database_url(value: str | None) -> str | None:
    if value is None:
        return None
    _url_text(value)
    match = _SQLALCHEMY_URL.match(value)
    if match is None or match.end() != len(value) or match["name"] not in DATABASE_SCHEMES:
        refuse("not a postgresql:// URL")
    if match["ipv6host"] is not None:
        if not _IPV6.fullmatch(match["ipv6host"]):
            refuse("a URL whose host is not an IPv6 address in its brackets")
    elif match["ipv4host"] is not None:
        if "@" in match["ipv4host"]:
            refuse("a URL with an @ in its user or password: write it as %40")
        if not _HOST_NAME.fullmatch(match["ipv4host"]):
            refuse("a URL whose host is not a host name or an IP address")
    _port(match["port"])
    query = dict(parse_qsl(match["query"] or "", keep_blank_values=True))
    if not (match["ipv4host"] or match["ipv6host"] or query.get("host")):
        refuse("a URL without a host (or a socket directory in ?host=)")
    if not unquote(match["database"] or ""):
        refuse("a URL without a database name")
    return value


def redis_url(value: str | None) -> str | None:
    """What redis-py's ``from_url`` accepts, less what it would accept and then fail
    on at the first connection (a query argument no connection takes, a db path
    that is not a number, which it silently ignores)."""
    if value is None:
        return None
    _url_text(value)
    if not value.startswith(("redis://", "rediss://", "unix://")):  # as redis-py, exactly
        refuse("not a redis://, rediss:// or unix:// URL")
    parts = _split(value)
    if parts.fragment:
        refuse("a URL with a #fragment")
    try:
        port = parts.port
    except ValueError:
        refuse("a URL whose port is not a number from 1 to 65535")
    if port == 0:
        refuse("a URL whose port is not a number from 1 to 65535")
    if parts.scheme == "unix":
        if not parts.path.startswith("/"):
            refuse("a unix:// URL without the socket's absolute path")
    else:
        if not parts.hostname:
            refuse("a URL without a host")
        db = parts.path.strip("/")
        if db and not _REDIS_DB.fullmatch(db):
            refuse("a URL whose path is not a database number")
    for name, argument in parse_qsl(parts.query, keep_blank_values=True):
        if name == "db":
            if not _REDIS_DB.fullmatch(argument):
                refuse("a URL whose db= is not a database number")
        elif parts.scheme != "rediss" or name not in _REDIS_TLS_QUERY:
            # Never the name itself: a garbled query may be a password.
            refuse("a URL with a query argument datm does not pass on")
        else:
            choices = _REDIS_TLS_QUERY[name]
            if choices is not None and argument.lower() not in choices:
                refuse("a URL with a TLS query argument set to a value redis-py refuses")
    return value


def lastfm_url(value: str | None) -> str | None:
    """What ``LastfmEndpoint.from_url`` accepts, and no user, query or fragment: the
    endpoint keeps only host and path, so they would be dropped unnoticed."""
    if value is None:
        return None
    _url_text(value)
    parts = _split(value)
    if parts.scheme != "https":
        refuse("not an https:// URL")
    if "@" in parts.netloc:
        refuse("a URL with a user or password in it")
    if not parts.hostname:
        refuse("a URL without a host")
    try:
        port = parts.port
    except ValueError:
        refuse("a URL whose port is not a number from 1 to 65535")
    if port == 0:
        refuse("a URL whose port is not a number from 1 to 65535")
    if parts.query or parts.fragment:
        refuse("a URL with a query or #fragment")
    return value
