"""How the ``datm db`` commands turn datm's errors into one line for the operator.

Exit statuses, as every ``datm`` command: 2 when the command could not run (a
bad or missing URL, the database unreachable or refusing, an unknown revision),
1 when it ran and found something wrong (``datm db check``), 0 otherwise.

No password is ever printed: datm's messages name a database by host, port and
name only, and every message is still scrubbed of the URL's password (as given
and percent-decoded) and of the DATM_* secrets before it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import click

from datm.cli.console import CommandError, redact
from datm.domain.errors import DatmError
from datm.settings import Settings

T = TypeVar("T")
CANNOT_RUN = CommandError.exit_code  # 2


@contextmanager
def postgres_extra() -> Iterator[None]:
    try:
        yield
    except ImportError as error:
        raise CommandError(
            f"the db commands need the postgres extra ({error}): pip install 'datm[postgres]'"
        ) from error


def database_url(url: str | None, required: bool = True) -> str | None:
    """``--url``, else DATM_DATABASE_URL; a usage error (exit 2) when neither is set
    and ``required``."""
    if url:
        return url
    try:
        configured = Settings.load(None).database_url
    except DatmError as error:
        raise click.UsageError(hidden(str(error), url)) from error
    if not configured and required:
        raise click.UsageError("no database: set DATM_DATABASE_URL or pass --url")
    return configured or None


def hidden(message: str, url: str | None) -> str:
    """``message`` without the password of ``url`` or any DATM_* secret."""
    for secret in _passwords(url):
        message = message.replace(secret, "***")
    return redact(message)


def run(action: Callable[[], T], url: str | None = None) -> T:
    """``action``'s result; a datm error ends the command in one line, exit 2."""
    try:
        return action()
    except DatmError as error:
        raise CommandError(hidden(str(error), url)) from error


def _passwords(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        password = urlsplit(url).password
    except ValueError:  # not a URL: nothing datm prints quotes it
        return []
    if not password:
        return []
    # Short ones too would blank letters of every word; datm's messages hold none anyway.
    return sorted({p for p in (password, unquote(password)) if len(p) >= 4}, key=len, reverse=True)
