"""datm's own login sessions: random keys, stored only as a hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

SESSION_KEY_BYTES = 32  # 256 bits; the brief asks for at least 128


def hash_session_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    key_hash: str
    player: str
    lastfm_key: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"Session(player={self.player!r}, created_at={self.created_at!r})"
