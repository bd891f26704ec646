"""The adapter's one chokepoint for failures: whatever pylast, httpx or the XML
raise becomes one of datm's errors here, and only transient ones are retried.

last.fm's codes (https://www.last.fm/api/errorcodes) by family:

- authentication: 4 (token not issued / authentication failed), 14 (token not
  allowed), 15 (token expired) -> ``TokenRefused``; 9 (invalid session key),
  17 (login required) -> ``LastfmSessionRefused``;
- service: 10 (invalid key), 26 (suspended key), 13 (bad signature: the secret is
  wrong) -> ``LastfmKeyRefused``; any code not named here -> ``LastfmRefused``;
- data: 6 (not found / invalid parameters), 7 (invalid resource) ->
  ``UnknownArtist`` for an artist, else ``InvalidInput`` naming the parameter;
- programming: 2, 3, 5 (no such service, method or format: a bug in datm);
- transient, retried: 8, 11, 16, 29, HTTP 5xx, timeouts, refused or dropped
  connections, documents that do not parse -> ``LastfmUnavailable``.

A TLS certificate the client does not trust is configuration, not bad luck:
``LastfmRefused`` (not retried). Each retry is logged (``retry_logger``).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from xml.parsers.expat import ExpatError

import pylast
from tenacity import RetryCallState

from datm.adapters.lastfm.documents import UnexpectedDocument
from datm.domain.errors import (
    DatmError,
    InvalidInput,
    LastfmKeyRefused,
    LastfmRefused,
    LastfmSessionRefused,
    LastfmUnavailable,
    ProgrammingError,
    TokenRefused,
    UnknownArtist,
)

TOKEN_REFUSED = frozenset({4, 14, 15})
SESSION_REFUSED = frozenset({9, 17})
KEY_REFUSED = frozenset({10, 13, 26})
NOT_FOUND = frozenset({6, 7})
TRANSIENT = frozenset({8, 11, 16, 29})
BUGS = frozenset({2, 3, 5})
UNREADABLE = (pylast.MalformedResponseError, UnexpectedDocument, ExpatError, ValueError)


def translate(error: Exception, subject: tuple[str, str]) -> DatmError:
    """datm's error for ``error``, raised by a call about ``subject`` (a parameter's
    name and value, e.g. ``("artist", "Radiohead")``)."""
    if isinstance(error, DatmError):
        return error
    if isinstance(error, pylast.WSError):
        return _from_status(_status(error.status), str(error.details or ""), subject)
    if isinstance(error, pylast.NetworkError):
        cause = error.underlying_error
        if isinstance(cause, DatmError):  # the rate limit, raised inside the transport
            return cause
        if _untrusted(cause):
            return LastfmRefused(0, "its TLS certificate is not trusted (LASTFM_CA_FILE?)")
        return LastfmUnavailable(f"network: {type(cause).__name__}")
    if isinstance(error, UNREADABLE):
        return LastfmUnavailable("an unreadable response")
    if isinstance(error, pylast.PyLastError):
        return LastfmUnavailable(type(error).__name__)
    return ProgrammingError(f"the last.fm adapter failed: {type(error).__name__}")


def _from_status(status: int, details: str, subject: tuple[str, str]) -> DatmError:
    if status >= 100:  # pylast reports an HTTP 5xx as a WSError with the HTTP status
        return LastfmUnavailable(f"HTTP {status}")
    if status in TRANSIENT:
        return LastfmUnavailable(f"error {status}")
    if status in TOKEN_REFUSED:
        return TokenRefused()
    if status in SESSION_REFUSED:
        return LastfmSessionRefused()
    if status in KEY_REFUSED:
        return LastfmKeyRefused(status)
    if status in NOT_FOUND:
        field, value = subject
        if field in ("artist", "mbid"):
            return UnknownArtist(value)
        return InvalidInput(field, details or "last.fm knows no such thing")
    if status in BUGS:
        return ProgrammingError(f"last.fm error {status}: {details}")
    return LastfmRefused(status, details)


def _status(raw: object) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return 0


def _untrusted(error: BaseException | None) -> bool:
    """Whether an SSL certificate check failed somewhere in ``error``'s causes."""
    seen = 0
    while error is not None and seen < 10:  # bounded: cause chains can loop
        if isinstance(error, ssl.SSLCertVerificationError):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def retry_logger(
    logger: logging.Logger, method: str, attempts: int
) -> Callable[[RetryCallState], None]:
    """tenacity's ``before_sleep`` for a last.fm call: a WARNING per retry, with the
    cause, the attempt and the wait before the next one. The cause is the
    ``LastfmUnavailable`` made above, whose message names an HTTP status, a
    last.fm error code or a network failure's type, never a parameter: no
    session key or signature can reach the log through it."""

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "last.fm %s failed on attempt %d of %d (%s); trying again in %.2f s",
            method,
            state.attempt_number,
            attempts,
            error,
            wait,
        )

    return log
