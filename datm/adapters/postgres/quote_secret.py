"""The quote secret shared by every process of one database.

A configured secret wins; otherwise the first process to need one stores a
random secret in the database, and every other process reads that one.
"""

from __future__ import annotations

import secrets
import threading

from sqlalchemy import Engine, text

from datm.adapters.postgres import schema_check
from datm.adapters.postgres.errors import translated
from datm.ports.secrets import QuoteSecret

_CREATE = text(
    "INSERT INTO server_secrets (name, value) VALUES ('quote', :value)"
    " ON CONFLICT (name) DO NOTHING"
)
_READ = text("SELECT value FROM server_secrets WHERE name = 'quote'")


class StoredQuoteSecret(QuoteSecret):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._value is None:
                self._schema.require(self._engine)  # server_secrets is a table of the migrations
                with translated(), self._engine.connect() as conn:
                    conn.execute(_CREATE, {"value": secrets.token_bytes(32)})
                    self._value = bytes(conn.execute(_READ).scalar_one())
            return self._value

    def __repr__(self) -> str:
        return "StoredQuoteSecret(<hidden>)"
