"""Awarding trophies inside a unit of work, after a trade or at a close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from datm.domain import pricing, trophies
from datm.domain.artist import Artist
from datm.domain.player import Player
from datm.ports.unit_of_work import UnitOfWork


def net_worth(uow: UnitOfWork, player: Player, fresh: Iterable[Artist] = ()) -> int:
    """Money plus sell prices; ``fresh`` are artists this unit of work has changed."""
    prices = uow.artists.prices(sorted(player.holdings))
    prices.update({a.mbid: a.price for a in fresh if a.mbid in player.holdings})
    return trophies.net_worth(player.money, [pricing.sell_price(p) for p in prices.values()])


def award_trophies(
    uow: UnitOfWork, player: Player, now: datetime, fresh: Iterable[Artist] = ()
) -> tuple[str, ...]:
    """Award what the player newly earned; the uids of the new trophies."""
    standing = trophies.Standing(
        trades=player.trades_made,
        holdings=len(player.holdings),
        net_worth=net_worth(uow, player, fresh),
    )
    new = trophies.earned(standing, frozenset(player.trophies))
    return tuple(t.uid for t in new if player.award(t.uid, now))
