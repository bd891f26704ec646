"""The daily close asks last.fm itself, past any cache: numbers players may have
seen cached for an hour must not become the day's points (anti-cheating)."""

from __future__ import annotations

from datetime import UTC, datetime

from injector import Binder, Module

from datm.adapters.clock import ManualClock
from datm.adapters.lastfm.caching import CachingLastfm
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.lastfm import ArtistInfo
from datm.ports.lastfm import LastfmPort
from datm.services.artist_resolution import ArtistLister
from datm.services.close import CloseService
from datm.settings import Settings
from datm.wiring import create_injector


class CountingLastfm(OfflineLastfm):
    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.info_calls = 0

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        self.info_calls += 1
        return super().artist_info(name=name, mbid=mbid, username=username)


def test_the_close_reads_each_artist_past_the_cache_that_serves_everyone_else() -> None:
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    upstream = CountingLastfm(clock)
    cached = CachingLastfm(upstream)

    class CachedLastfm(Module):
        def configure(self, binder: Binder) -> None:
            binder.bind(LastfmPort, to=cached)  # type: ignore[type-abstract]

    injector = create_injector(Settings(), wiring="memory", clock=clock, extra=[CachedLastfm()])
    mbid = upstream.chart_top_artists(1, 1)[0].mbid
    assert mbid is not None
    injector.get(ArtistLister).ensure_listed(mbid)
    cached.artist_info(mbid=mbid)
    warm = upstream.info_calls
    cached.artist_info(mbid=mbid)
    assert upstream.info_calls == warm  # served from the cache

    report = injector.get(CloseService).run()

    assert report.artists_closed == 1
    assert upstream.info_calls == warm + 1  # the close asked last.fm itself
