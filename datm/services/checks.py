"""Checking a public method's arguments at the boundary, before any work.

Every public service method runs its arguments through these helpers first, so
that a bad argument is refused the same way on every backend: ``InvalidInput``
naming the argument (a ``DataError``), never a ``TypeError`` from deep inside, nor
a driver's error on one backend where another answers "unknown". Only ``None``
means "the default", and only where None is the documented default: a given
value is never taken for the default because it is falsy.

Text is refused when the database or a hash cannot carry it (``carriable``): a
NUL character, or a lone surrogate (``'\\ud800'``, which a JSON body can carry
but UTF-8 cannot). Each check is a few ``isinstance`` calls and at most one pass
over the string: cheap enough for the trade path.
"""

from __future__ import annotations

import math

from datm.domain.errors import InvalidInput

MAX_TEXT_LENGTH = 256


def carriable(value: str) -> bool:
    """Whether ``value`` can be stored, sent and hashed as UTF-8: no NUL and no
    lone surrogate."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(field: str, value: object, most: int = MAX_TEXT_LENGTH) -> str:
    """A string of 1 to ``most`` characters, not blank, carriable; stripped."""
    return check_name(field, value, most).strip()


def check_name(field: str, value: object, most: int) -> str:
    """Like ``check_text``, but as given (not stripped): a player's or league's name
    is exact."""
    if not isinstance(value, str) or not value.strip() or len(value) > most or not carriable(value):
        raise InvalidInput(
            field, f"must be text of 1 to {most} characters, without NUL or lone surrogates"
        )
    return value


def check_optional_name(field: str, value: object, most: int) -> str | None:
    return None if value is None else check_name(field, value, most)


def check_count(name: str, value: object, most: int = 1000) -> int:
    """A whole number from 1 to ``most``; ``bool`` is not a number."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise InvalidInput(name, f"must be a whole number from 1 to {most}")
    return value


def check_optional_count(name: str, value: object, most: int = 1000) -> int | None:
    return None if value is None else check_count(name, value, most)


def check_days(name: str, value: object) -> int:
    """A whole number of days from 0 (0 meaning all time, where a method says so)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(name, "must be a whole number of days, 0 or more")
    return value


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(name, "must be True or False")
    return value


def check_optional_seconds(name: str, value: object, most: float = 3600.0) -> float | None:
    """None (the setting's default), or a finite number of seconds from 0 to ``most``."""
    if value is None:
        return None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= most
    ):
        raise InvalidInput(name, f"must be a finite number of seconds from 0 to {most:.0f}")
    return float(value)


def check_optional_callable(name: str, value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidInput(name, "must be a function, or None")
