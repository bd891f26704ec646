"""Market reads: listing on demand, market data, history, tops and recommendations."""

from __future__ import annotations

from datetime import timedelta

from injector import inject

from datm.domain.errors import UnknownArtist
from datm.domain.player import MAX_NAME_LENGTH
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.market_reads import ArtistRankings, MarketReads
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.artist_resolution import ArtistLister, check_ref, looks_like_mbid
from datm.services.checks import check_optional_name
from datm.services.results import (
    ArtistGain,
    ArtistLight,
    HistoryEntry,
    MarketData,
    TradedArtist,
    TradeView,
)
from datm.services.sessions import SessionChecker
from datm.services.views import check_count, market_view


class MarketService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        lister: ArtistLister,
        lastfm: LastfmPort,
        sessions: SessionChecker,
        clock: Clock,
        reads: MarketReads,
        rankings: ArtistRankings,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._rankings = rankings
        self._lister = lister
        self._lastfm = lastfm
        self._sessions = sessions
        self._clock = clock

    def market_data(self, artist: str, player: str | None = None) -> MarketData:
        """Price, remaining shares, latest points and dividend; lists the artist if
        needed. With ``player``, ``price`` is that player's sell price if held."""
        ref = check_ref(artist)
        player = check_optional_name("player", player, MAX_NAME_LENGTH)
        found = self._reads.market(ref.lower(), player) if looks_like_mbid(ref) else None
        if found is None:
            mbid = self._lister.ensure_listed(ref).mbid
            found = self._reads.market(mbid, player)
            if found is None:  # listed a moment ago, and artists are never unlisted
                raise UnknownArtist(mbid)
        return market_view(found.artist, found.points, found.dividend, found.held)

    def history(self, artist: str, days: int) -> list[HistoryEntry]:
        """Price, points and dividend per day over the last ``days`` days, oldest first."""
        since = self._clock.today() - timedelta(days=check_count("days", days, 3660) - 1)
        points = self._reads.history(self._lister.mbid_of(artist), since)
        return [HistoryEntry(p.day, p.price, p.points, p.dividend) for p in points]

    def top_by_price(self, limit: int = 10) -> list[MarketData]:
        ranked = self._rankings.top_by_price(check_count("limit", limit))
        return [market_view(m.artist, m.points, m.dividend, m.held) for m in ranked]

    def top_by_gain(self, limit: int = 10, days: int = 7) -> list[ArtistGain]:
        """Artists whose price rose most over the last ``days`` days."""
        since = self._clock.today() - timedelta(days=check_count("days", days, 3660))
        ranked = self._rankings.top_by_gain(since, check_count("limit", limit))
        return [
            ArtistGain(market_view(m.artist, m.points, m.dividend, m.held), gain)
            for m, gain in ranked
        ]

    def chart(self, limit: int = 10, page: int = 1) -> list[MarketData]:
        """last.fm's global chart with market data; artists without an MBID are left out."""
        chart = self._lastfm.chart_top_artists(
            check_count("limit", limit), check_count("page", page)
        )
        result = []
        for entry in chart:
            if not entry.mbid:
                continue
            result.append(self.market_data(entry.mbid))
        return result

    def most_traded(self, limit: int = 10, days: int | None = None) -> list[TradedArtist]:
        """Artists by number of buys, over the last ``days`` days or all time."""
        since = None
        if days is not None:
            since = self._clock.today() - timedelta(days=check_count("days", days, 3660) - 1)
        ranked = self._reads.most_bought(check_count("limit", limit), since, self._clock.now())
        return [TradedArtist(mbid, name, buys) for mbid, name, buys in ranked]

    def recent_trades(self, limit: int = 10) -> list[TradeView]:
        return [
            TradeView(t.player, t.mbid, t.artist, t.side.value, t.price, t.at)
            for t in self._reads.recent_trades(check_count("limit", limit))
        ]

    def recommendations(self, session_key: str, limit: int = 10) -> list[ArtistLight]:
        """Artists from the player's own last.fm top artists and library that the
        player does not hold yet, most played first."""
        limit = check_count("limit", limit)
        session = self._sessions.require(session_key)
        name = session.player
        candidates = self._lastfm.user_top_artists(name, limit * 3)
        candidates += self._lastfm.library_artists(name, limit * 3)
        with self._sessions.player_gone(session), self._uow() as uow:
            held = set(uow.players.get(name).holdings)
        seen: set[str] = set()
        result: list[ArtistLight] = []
        for ref in candidates:
            mbid = ref.mbid.lower()
            if not mbid or mbid in held or mbid in seen:
                continue
            seen.add(mbid)
            result.append(ArtistLight(mbid, ref.name))
            if len(result) == limit:
                break
        return result
