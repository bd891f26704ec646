"""Awarding trophies inside a unit of work, after a trade or at a close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from datm.domain import trophies
from datm.domain.artist import Artist
from datm.domain.player import Player
from datm.ports.unit_of_work import UnitOfWork


def _held_prices(uow: UnitOfWork, player: Player, fresh: Iterable[Artist]) -> list[int]:
    """The prices of the artists the player holds; ``fresh`` are artists this unit
    of work has changed."""
    prices = uow.artists.prices(sorted(player.holdings))
    prices.update({a.mbid: a.price for a in fresh if a.mbid in player.holdings})
    return list(prices.values())


def award_trophies(
    uow: UnitOfWork, player: Player, now: datetime, fresh: Iterable[Artist] = ()
) -> tuple[str, ...]:
    """Award what the player newly earned; the uids of the new trophies."""
    return trophies.award_earned(player, _held_prices(uow, player, fresh), now)
