"""Checking a player's session key: shared by every service that needs a login."""

from __future__ import annotations

from injector import inject

from datm.domain.errors import NotAuthenticated
from datm.domain.sessions import Session, hash_session_key
from datm.ports.unit_of_work import UnitOfWorkFactory

MAX_KEY_LENGTH = 256


class SessionChecker:
    @inject
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def require(self, session_key: str | None) -> Session:
        """The session behind the key; ``NotAuthenticated`` for a missing or unknown key."""
        if not isinstance(session_key, str) or not 0 < len(session_key) <= MAX_KEY_LENGTH:
            raise NotAuthenticated()
        with self._uow() as uow:
            session = uow.sessions.find(hash_session_key(session_key))
        if session is None:
            raise NotAuthenticated()
        return session
