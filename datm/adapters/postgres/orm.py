"""Imperative mapping: the domain's entities learn nothing of their storage.

Only the two aggregates' own rows are mapped; a player's holdings and trophies
are loaded and written by the repository (they are frozen values in the domain,
which the ORM cannot instrument).
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import registry

from datm.adapters.postgres.tables import artists, players
from datm.domain.artist import Artist
from datm.domain.player import Player

mapper_registry = registry()
_started = False
_lock = threading.Lock()


def start_mappers() -> None:
    """Map once per process, whoever asks first; never at import."""
    global _started
    with _lock:
        if _started:
            return
        mapper_registry.map_imperatively(Player, players)
        mapper_registry.map_imperatively(Artist, artists)
        _started = True
