"""Players: public profiles, money, reset and leaving the game."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from injector import inject

from datm.domain import trading, trophies
from datm.domain.errors import DatmError
from datm.domain.lastfm import Image
from datm.domain.periods import Period
from datm.domain.player import MAX_NAME_LENGTH, STARTING_MONEY, LedgerKind, Player
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard
from datm.ports.player_reads import PlayerReads
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from datm.services.checks import check_flag, check_name
from datm.services.results import (
    HoldingView,
    PlayerProfile,
    Points,
    ResetResult,
    TradeReceipt,
    TradeView,
    TrophyView,
)
from datm.services.retry import retry_on_conflict
from datm.services.sessions import SessionChecker
from datm.services.views import market_view

PROFILE_TRADES = 20


class PlayerService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reads: PlayerReads,
        sessions: SessionChecker,
        lastfm: LastfmPort,
        clock: Clock,
        board: Leaderboard,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._sessions = sessions
        self._lastfm = lastfm
        self._clock = clock
        self._board = board

    def profile(self, name: str, with_images: bool = True) -> PlayerProfile:
        """Name, points, images, trades, holdings with market data, trophies, league,
        and net worth (money plus the held artists' sell prices), read in a fixed
        number of statements however many holdings."""
        check_name("name", name, MAX_NAME_LENGTH)
        check_flag("with_images", with_images)
        today = self._clock.today()
        record = self._reads.profile(name, PROFILE_TRADES)
        player, latest = record.player, record.latest_close
        holdings = []
        for h in sorted(player.holdings.values(), key=lambda h: (h.since, h.mbid)):
            held = record.held.get(h.mbid)
            if held is not None:
                market = market_view(held.artist, held.points, held.dividend, True)
                holdings.append(HoldingView(market, h.price_paid, h.since))
        trades = tuple(
            TradeView(name, t.mbid, t.artist, t.side.value, t.price, t.at) for t in record.trades
        )
        worth = trophies.net_worth(
            player.money, [h.artist.sell_price for h in record.held.values()]
        )
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
        # Images come from last.fm, after the store was read; a profile still shows
        # when last.fm is away.
        images: tuple[Image, ...] = ()
        if with_images:
            try:
                images = self._lastfm.user_info(name).images
            except DatmError:
                images = ()
        return PlayerProfile(
            name, player.league, points, worth, images, trades, tuple(holdings), awarded
        )

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
            with self._board.changing([name], self._clock.today()):
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
            with self._board.changing([name], self._clock.today()):
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
