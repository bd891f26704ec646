"""How the commands turn datm's errors into one line for the operator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click

from datm.domain.errors import DatmError
from datm.settings import Settings

T = TypeVar("T")


@contextmanager
def postgres_extra() -> Iterator[None]:
    try:
        yield
    except ImportError as error:
        raise click.ClickException(
            f"the db commands need the postgres extra ({error}): pip install 'datm[postgres]'"
        ) from error


def database_url(url: str | None) -> str:
    if url:
        return url
    try:
        configured = Settings.load(None).database_url
    except DatmError as error:
        raise click.UsageError(str(error)) from error
    if not configured:
        raise click.UsageError("no database: set DATM_DATABASE_URL or pass --url")
    return configured


def run(action: Callable[[], T]) -> T:
    try:
        return action()
    except DatmError as error:
        raise click.ClickException(str(error)) from error
