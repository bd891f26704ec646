"""Checking a player's session key: shared by every service that needs a login.

Valid sessions are remembered for a few seconds per process (``session_cache_
seconds``), which saves a database read on every trade and quote. A session
ends only when its player deletes the account; a key remembered a little too
long then finds no player, which ``player_gone`` turns into NotAuthenticated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cachetools import TTLCache
from injector import inject

from datm.domain.errors import NotAuthenticated, UnknownPlayer
from datm.domain.sessions import Session, hash_session_key
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.settings import Settings

MAX_KEY_LENGTH = 256
CACHE_SIZE = 100_000


class SessionChecker:
    @inject
    def __init__(self, uow: UnitOfWorkFactory, settings: Settings) -> None:
        self._uow = uow
        ttl = settings.session_cache_seconds
        self._cache: TTLCache[str, Session] | None = TTLCache(CACHE_SIZE, ttl) if ttl > 0 else None
        self._lock = threading.Lock()

    def require(self, session_key: str | None) -> Session:
        """The session behind the key; ``NotAuthenticated`` for a missing or unknown key."""
        # datm issues URL-safe ASCII keys: any other string (a lone surrogate, which
        # no hash can take) is malformed, refused before any work.
        if (
            not isinstance(session_key, str)
            or not 0 < len(session_key) <= MAX_KEY_LENGTH
            or not session_key.isascii()
        ):
            raise NotAuthenticated()
        key_hash = hash_session_key(session_key)
        if self._cache is not None:
            with self._lock:
                cached = self._cache.get(key_hash)
            if cached is not None:
                return cached
        with self._uow() as uow:
            session = uow.sessions.find(key_hash)
        if session is None:
            raise NotAuthenticated()
        if self._cache is not None:
            with self._lock:
                self._cache[key_hash] = session
        return session

    def forget(self, session: Session) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.pop(session.key_hash, None)

    @contextmanager
    def player_gone(self, session: Session) -> Iterator[None]:
        """A session whose player deleted the account is no session at all."""
        try:
            yield
        except UnknownPlayer as gone:
            if getattr(gone, "player", None) != session.player:
                raise
            self.forget(session)
            raise NotAuthenticated() from None
