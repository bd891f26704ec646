"""Players: public profiles, money, reset and leaving the game."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from injector import inject

from datm.domain import trading, trophies
from datm.domain.errors import DatmError
from datm.domain.lastfm import Image
from datm.domain.periods import Period
from datm.domain.player import STARTING_MONEY, LedgerKind, Player, check_player_name
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from datm.services.results import (
    HoldingView,
    PlayerProfile,
    Points,
    ResetResult,
    TradeReceipt,
    TrophyView,
)
from datm.services.retry import retry_on_conflict
from datm.services.sessions import SessionChecker
from datm.services.trophy_check import net_worth
from datm.services.views import market_data, trade_views

PROFILE_TRADES = 20


class PlayerService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sessions: SessionChecker,
        lastfm: LastfmPort,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._lastfm = lastfm
        self._clock = clock

    def profile(self, name: str, with_images: bool = True) -> PlayerProfile:
        """Name, points, images, trades, holdings with market data, trophies, league."""
        check_player_name(name)
        today = self._clock.today()
        with self._uow() as uow:
            player = uow.players.get(name)
            latest = uow.closes.latest_day()
            held = uow.artists.find_many(sorted(player.holdings))
            holdings = tuple(
                HoldingView(market_data(uow, held[h.mbid], True), h.price_paid, h.since)
                for h in sorted(player.holdings.values(), key=lambda h: h.since)
                if h.mbid in held
            )
            trades = trade_views(uow, uow.trades.for_player(name, PROFILE_TRADES))
            worth = net_worth(uow, player)
        points = Points(
            all_time=player.points_for(Period.ALL_TIME, latest, today),
            daily=player.points_for(Period.DAILY, latest, today),
            weekly=player.points_for(Period.WEEKLY, latest, today),
            monthly=player.points_for(Period.MONTHLY, latest, today),
        )
        awarded = tuple(
            TrophyView(t.uid, t.name, t.description, t.icon, player.trophies[t.uid])
            for t in trophies.DEFAULT_TROPHIES
            if t.uid in player.trophies
        )
        # Images come from last.fm, after the unit of work is closed; a profile
        # still shows when last.fm is away.
        images: tuple[Image, ...] = ()
        if with_images:
            try:
                images = self._lastfm.user_info(name).images
            except DatmError:
                images = ()
        return PlayerProfile(name, player.league, points, worth, images, trades, holdings, awarded)

    def money(self, session_key: str) -> int:
        session = self._sessions.require(session_key)
        with self._sessions.player_gone(session), self._uow() as uow:
            return uow.players.get(session.player).money

    def reset(self, session_key: str) -> ResetResult:
        """Sell every holding at its sell price, then money = 20,000 and points = 0."""
        session = self._sessions.require(session_key)
        with self._sessions.player_gone(session):
            return self._reset(session.player)

    @retry_on_conflict()
    def _reset(self, name: str) -> ResetResult:
        now = self._clock.now()
        with self._uow() as uow:
            uow.market.require_open()
            player = uow.players.get_for_update(name)
            sold = _release_all(uow, player, now, anonymous=False)
            entry = player.change_money(STARTING_MONEY - player.money, LedgerKind.RESET, now)
            if entry.amount:
                uow.ledger.add(entry)
            player.clear_points()
            uow.closes.forget_holder(name)  # a close still paying pays a reset player nothing
            result = ResetResult(name, sold, player.money)
            uow.commit()
        return result

    def delete(self, session_key: str) -> None:
        """Release every holding like a sale, then remove the player; trades stay,
        anonymised."""
        session = self._sessions.require(session_key)
        with self._sessions.player_gone(session):
            self._delete(session.player)
        self._sessions.forget(session)

    @retry_on_conflict()
    def _delete(self, name: str) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            uow.market.require_open()
            player = uow.players.get_for_update(name)
            _release_all(uow, player, now, anonymous=True)
            uow.trades.anonymise(name)
            uow.ledger.delete_for(name)
            uow.sessions.delete_for(name)
            uow.closes.forget_holder(name)
            uow.players.delete(player)
            uow.commit()


def _release_all(
    uow: UnitOfWork, player: Player, now: datetime, anonymous: bool
) -> tuple[TradeReceipt, ...]:
    """Sell every holding at its current sell price, artists locked in MBID order."""
    receipts = []
    for mbid in sorted(player.holdings):
        artist = uow.artists.get_for_update(mbid)
        outcome = trading.release(player, artist, now)
        trade = dataclasses.replace(outcome.trade, player=None) if anonymous else outcome.trade
        uow.trades.add(trade)
        uow.ledger.add(outcome.ledger)
        receipts.append(TradeReceipt(mbid, "sell", trade.price, player.money, now, ()))
    return tuple(receipts)
