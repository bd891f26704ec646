"""last.fm without a network: a recorded catalogue with simulated daily numbers."""

from __future__ import annotations

from datm.adapters.offline.catalogue import Catalogue, CatalogueArtist, load_catalogue
from datm.adapters.offline.lastfm import OfflineLastfm

__all__ = ["Catalogue", "CatalogueArtist", "OfflineLastfm", "load_catalogue"]
