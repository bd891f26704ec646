"""Turning entities read inside a unit of work into frozen results."""

from __future__ import annotations

from collections.abc import Iterable

from datm.domain.artist import Artist
from datm.domain.trading import Trade
from datm.ports.unit_of_work import UnitOfWork
from datm.services.checks import check_count as check_count  # re-exported
from datm.services.results import MarketData, TradeView


def market_view(artist: Artist, points: int, dividend: int, held: bool) -> MarketData:
    """An artist's market, with its latest close's points and dividend (0 before
    its first close), as seen by a player who holds it or not."""
    return MarketData(
        mbid=artist.mbid,
        name=artist.name,
        price=artist.sell_price if held else artist.price,
        buy_price=artist.price,
        sell_price=artist.sell_price,
        remaining=artist.remaining,
        max_shares=artist.max_shares,
        points=points,
        dividend=dividend,
        held=held,
    )


def trade_views(uow: UnitOfWork, trades: Iterable[Trade]) -> tuple[TradeView, ...]:
    trades = list(trades)
    artists = uow.artists.find_many(sorted({t.mbid for t in trades}))
    return tuple(
        TradeView(
            player=t.player,
            mbid=t.mbid,
            artist=artists[t.mbid].name if t.mbid in artists else t.mbid,
            side=t.side.value,
            price=t.price,
            at=t.at,
        )
        for t in trades
    )
