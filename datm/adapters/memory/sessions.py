"""Login sessions and used quote ids in memory."""

from __future__ import annotations

from datetime import datetime

from datm.adapters.memory.transaction import Transaction
from datm.domain.errors import QuoteInvalid
from datm.domain.sessions import Session
from datm.ports.repositories import SessionRepository, UsedQuoteRepository


class InMemoryUsedQuoteRepository(UsedQuoteRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def mark_used(self, quote_id: str, expires_at: datetime) -> None:
        # Lock first, then look: a racing unit of work that marked the same id
        # holds the lock until it ends, so we see its commit (or its rollback).
        self._tx.lock(("quote", quote_id))
        pending = self._tx.pending.quotes
        with self._tx.committed() as store:
            if quote_id in store.used_quotes or quote_id in pending:
                raise QuoteInvalid("already used")
        pending[quote_id] = expires_at


class InMemorySessionRepository(SessionRepository):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, session: Session) -> None:
        self._tx.check_open()
        self._tx.pending.sessions[session.key_hash] = session

    def find(self, key_hash: str) -> Session | None:
        p = self._tx.pending
        with self._tx.committed() as store:
            if key_hash in p.sessions:
                return p.sessions[key_hash]
            session = store.sessions.get(key_hash)
        if session is None or session.player in p.sessions_ended:
            return None
        return session

    def delete_for(self, player: str) -> None:
        p = self._tx.pending
        self._tx.check_open()
        p.sessions = {k: s for k, s in p.sessions.items() if s.player != player}
        p.sessions_ended.add(player)
