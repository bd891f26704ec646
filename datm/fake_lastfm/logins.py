"""The fake's side of last.fm's login: tokens, the user's consent, session keys, signatures.

last.fm's desktop flow: ``auth.getToken`` issues a token; the user opens
``/api/auth/?api_key=K&token=T`` and allows the application; ``auth.getSession``
exchanges the token, once, for a session key that never expires. A token lives 60
minutes. Signed calls carry ``api_sig``: the md5 of every parameter but ``format``,
``callback`` and ``api_sig`` itself, sorted by name and written name then value,
followed by the shared secret.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TOKEN_TTL_SECONDS = 3600.0
UNSIGNED = frozenset({"format", "callback", "api_sig"})


def signature(params: Mapping[str, str], secret: str) -> str:
    """last.fm's api_sig of ``params`` with the shared ``secret``."""
    text = "".join(f"{name}{params[name]}" for name in sorted(params) if name not in UNSIGNED)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def signature_matches(params: Mapping[str, str], secret: str) -> bool:
    given = params.get("api_sig", "")
    return secrets.compare_digest(given.lower(), signature(params, secret))


@dataclass(slots=True)
class _Token:
    issued_at: float
    user: str | None = None  # who allowed the application; None until then
    used: bool = False


@dataclass(frozen=True, slots=True)
class Exchange:
    """What ``auth.getSession`` finds: a session, or the last.fm error code."""

    user: str = ""
    key: str = ""
    error: int = 0


class Logins:
    """Tokens and session keys the fake issued. Thread-safe."""

    def __init__(
        self, token_ttl: float = TOKEN_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = token_ttl
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    def issue_token(self) -> str:
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = _Token(issued_at=self._clock())
        return token

    def authorise(self, token: str, user: str) -> str | None:
        """``user`` allows the application for ``token``: None, or why not."""
        if not user.strip():
            return "no user name given"
        with self._lock:
            found = self._tokens.get(token)
            if found is None:
                return "this token has not been issued"
            if found.used or self._expired(found):
                return "this token has expired"
            if found.user not in (None, user):
                return "this token was allowed by another user"
            found.user = user
        return None

    def exchange(self, token: str) -> Exchange:
        """auth.getSession: a new session for an allowed token, once."""
        with self._lock:
            found = self._tokens.get(token)
            if found is None:
                return Exchange(error=4)
            if found.used or self._expired(found):
                return Exchange(error=15)
            if found.user is None:
                return Exchange(error=14)
            found.used = True
            key = secrets.token_hex(16)
            self._sessions[key] = found.user
            return Exchange(user=found.user, key=key)

    def is_issued(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    def open_session(self, user: str) -> str:
        """A session key for ``user`` without the token dance (for tests)."""
        key = secrets.token_hex(16)
        with self._lock:
            self._sessions[key] = user
        return key

    def session_user(self, key: str) -> str | None:
        with self._lock:
            return self._sessions.get(key)

    def _expired(self, token: _Token) -> bool:
        return self._clock() - token.issued_at > self._ttl
