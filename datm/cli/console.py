"""What every ``datm`` command shares: logging, one-line errors, the game's injector.

The library configures no logging; the command line is an application, so it
does, for the length of one command: a handler on the root logger (rich on a
terminal, plain lines otherwise, both on stderr) and the level of datm's own
loggers from ``-v``/``--log-level``. Other libraries stay at WARNING.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import click
from injector import Injector
from rich.console import Console
from rich.logging import RichHandler

from datm.domain.errors import DatmError
from datm.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECRET_SETTINGS = ("DATM_QUOTE_SECRET", "DATM_LASTFM_API_SECRET")
URL_SETTINGS = ("DATM_DATABASE_URL", "DATM_REDIS_URL")
_STATE = "datm.cli.logging"  # in click's ctx.meta, shared by a command and its groups


class CommandError(click.ClickException):
    """One line on stderr (``Error: ...``), never a secret; exit status 2: the
    command did not run (bad input, refused, a setting or a service wrong)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


def secrets() -> list[str]:
    """Values of the DATM_* environment that must never be printed: passwords of the
    URLs (as written and decoded) and the secrets themselves."""
    found = [os.environ.get(name, "") for name in SECRET_SETTINGS]
    for name in URL_SETTINGS:
        try:
            password = urlsplit(os.environ.get(name, "")).password
        except ValueError:  # not a URL at all: hide the whole value
            password = os.environ.get(name)
        found += [password, unquote(password)] if password else []
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in secrets():
        text = text.replace(secret, "***")
    return text


def shown_url(url: str) -> str:
    """A URL as an operator may see it: the password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<unreadable URL>"


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = redact(message)
        if shown != message:
            record.msg, record.args = shown, None
        return True


def _state(ctx: click.Context) -> dict[str, Any]:
    """This command's logging state; datm's level is put back when the command ends
    (tests run many commands in one process)."""
    meta: dict[str, Any] | None = ctx.meta.get(_STATE)
    if meta is None:
        datm = logging.getLogger("datm")
        meta = ctx.meta[_STATE] = {}
        ctx.find_root().call_on_close(lambda level=datm.level: datm.setLevel(level))
    return meta


def stderr(ctx: click.Context) -> Console:
    """The console of stderr: logs and progress bars share it, so that log lines
    print above a live bar rather than through it."""
    meta = _state(ctx)
    if "console" not in meta:
        meta["console"] = Console(stderr=True)
    console: Console = meta["console"]
    return console


def install_logging(ctx: click.Context) -> None:
    """Install the handler for this command; removed when the command ends."""
    meta = _state(ctx)
    if "handler" in meta:
        return
    console = stderr(ctx)
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
    else:  # a log file or a pipe: timestamps and plain lines
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redacting())
    root = logging.getLogger()
    root.addHandler(handler)
    meta["handler"] = handler
    ctx.find_root().call_on_close(lambda: root.removeHandler(handler))
    _apply(ctx)


def _apply(ctx: click.Context) -> None:
    meta = _state(ctx)
    verbose = meta.get("verbose", 0)
    level = meta.get("level") or ("DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING")
    logging.getLogger("datm").setLevel(level)


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:  # given here: overrides what the group was given
            _state(ctx)[name] = value.upper() if name == "level" else value
            _apply(ctx)

    return callback


def log_options(command: F) -> F:
    """``-v`` (INFO; twice: DEBUG) and ``--log-level``, on the group and on each
    command, so that both ``datm -v market close`` and ``datm market close -v`` work."""
    command = click.option(
        "--log-level",
        type=click.Choice(LEVELS, case_sensitive=False),
        expose_value=False,
        callback=_remember("level"),
        help="Level of datm's log lines on stderr (default WARNING).",
    )(command)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_remember("verbose"),
        help="More log lines: -v for INFO, -vv for DEBUG.",
    )(command)


@contextmanager
def game() -> Iterator[tuple[Injector, Settings]]:
    """The game's injector, wired from the DATM_* environment as any program's:
    Postgres when DATM_DATABASE_URL is set, else an in-memory store."""
    from datm.lifecycle import close
    from datm.wiring import create_injector

    try:
        injector = create_injector()
    except ImportError as error:
        raise CommandError(
            f"DATM_DATABASE_URL needs the postgres extra ({error}): pip install 'datm[postgres]'"
        ) from error
    try:
        yield injector, injector.get(Settings)
    finally:
        # A lock left held by an interrupted command goes now, not at exit, and the
        # pool with it.
        with suppress(DatmError):
            close(injector)


def store_of(settings: Settings) -> str:
    if settings.database_url:
        return shown_url(settings.database_url)
    return "the in-memory store of this process (DATM_DATABASE_URL is not set)"
