"""Imperative mapping: the domain's entities learn nothing of their storage.

Only the two aggregates' own rows are mapped; a player's holdings and trophies
are loaded and written by the repository (they are frozen values in the domain,
which the ORM cannot instrument).

What is mapped is a subclass of each entity, declared here: mapping instruments
a class, and an instrumented ``Player`` or ``Artist`` costs the trade's hot path
(which builds its entities from hand-written SQL, never through the ORM) about a
fifth of its CPU in attribute events it has no use for. The ORM's reads (pages,
tops) return these subclasses: the same entities, with the ORM's bookkeeping.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import registry

from datm.adapters.postgres.tables import artists, players
from datm.domain.artist import Artist
from datm.domain.player import Player


class StoredPlayer(Player):
    """A ``Player`` as the ORM loads it."""


class StoredArtist(Artist):
    """An ``Artist`` as the ORM loads it."""


mapper_registry = registry()
_started = False
_lock = threading.Lock()


def start_mappers() -> None:
    """Map once per process, whoever asks first; never at import."""
    global _started
    with _lock:
        if _started:
            return
        mapper_registry.map_imperatively(StoredPlayer, players)
        mapper_registry.map_imperatively(StoredArtist, artists)
        _started = True
