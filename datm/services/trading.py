"""Quotes, buys and sells: the api's trading use cases."""

from __future__ import annotations

import secrets
from datetime import timedelta

from injector import inject

from datm.domain import quotes, trading
from datm.domain.artist import Artist
from datm.domain.errors import QuoteInvalid
from datm.domain.player import Player
from datm.domain.quotes import Quote, Side
from datm.ports.clock import Clock
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.artist_resolution import ArtistLister, check_ref, looks_like_mbid
from datm.services.results import SignedQuote, TradeReceipt
from datm.services.retry import retry_on_conflict
from datm.services.sessions import SessionChecker
from datm.services.trophy_check import award_trophies
from datm.settings import Settings


class TradingService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sessions: SessionChecker,
        lister: ArtistLister,
        secret: QuoteSecret,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._lister = lister
        self._secret = secret
        self._clock = clock
        self._validity = timedelta(seconds=settings.quote_validity_seconds)

    def quote(self, session_key: str, artist: str, side: str) -> SignedQuote:
        """A signed price guarantee for one side of one artist, listing it if needed."""
        wanted = Side.parse(side)
        ref = check_ref(artist)
        session = self._sessions.require(session_key)
        with self._sessions.player_gone(session):
            player, listed = self._read(session.player, ref)
        # ``listed`` was read a moment ago; the quote guarantees its price either way.
        price = trading.quote_price(player, listed, wanted)
        quote = Quote(
            id=secrets.token_hex(16),
            player=session.player,
            mbid=listed.mbid,
            side=wanted,
            price=price,
            expires_at=self._clock.now() + self._validity,
        )
        token = quotes.sign(quote, self._secret.get())
        return SignedQuote(token, quote.mbid, wanted.value, price, quote.expires_at)

    def _read(self, player: str, ref: str) -> tuple[Player, Artist]:
        """The player and the listed artist: one read when the artist is named by
        MBID and already listed, as it is for nearly every quote."""
        if looks_like_mbid(ref):
            with self._uow() as uow:
                uow.market.require_open()
                found, listed = uow.read_for_quote(player, ref.lower())
            if listed is not None:
                return found, listed
        listed = self._lister.ensure_listed(ref)
        with self._uow() as uow:
            uow.market.require_open()
            return uow.players.get(player), listed

    def buy(self, session_key: str, signed_quote: str) -> TradeReceipt:
        """Buy at the quoted price: all or nothing."""
        return self._execute(session_key, signed_quote, Side.BUY)

    def sell(self, session_key: str, signed_quote: str) -> TradeReceipt:
        """Sell at the quoted price: all or nothing."""
        return self._execute(session_key, signed_quote, Side.SELL)

    def receipt(self, session_key: str, signed_quote: str) -> TradeReceipt | None:
        """The trade that used ``signed_quote``, if it committed; None if none did.

        For a caller who lost the answer of ``buy`` or ``sell`` (a cancelled await in
        ``datm.aio``, a timeout): the quote was used exactly when its trade committed.
        Only the quote's own player may ask; an expired quote may be asked about.
        The receipt's ``mbid``, ``side``, ``price`` and ``at`` are the trade's;
        ``money`` is the player's money now (later trades may have changed it since)
        and ``new_trophies`` is empty (the profile lists every trophy)."""
        session = self._sessions.require(session_key)
        quote = quotes.opened(signed_quote, self._secret.get())
        if quote.player != session.player:
            raise QuoteInvalid("this guarantee was given to another player")
        with self._sessions.player_gone(session), self._uow() as uow:
            trade = uow.trades.by_quote(quote.id)
            if trade is None or trade.player != session.player:
                return None
            money = uow.players.get(session.player).money
        return TradeReceipt(trade.mbid, trade.side.value, trade.price, money, trade.at, ())

    def _execute(self, session_key: str, signed_quote: str, side: Side) -> TradeReceipt:
        session = self._sessions.require(session_key)
        quote = quotes.verify(signed_quote, self._secret.get(), self._clock.now())
        with self._sessions.player_gone(session):
            return self._trade(session.player, quote, side)

    @retry_on_conflict()
    def _trade(self, player_name: str, quote: Quote, side: Side) -> TradeReceipt:
        now = self._clock.now()
        with self._uow() as uow:
            uow.market.require_open()
            # A used quote is refused as used, before the trade's own checks would
            # refuse it for what its first execution did (already held, not held).
            # Backends check it under a lock that every execution of it takes.
            uow.quotes.mark_used(quote.id, quote.expires_at)
            player, artist = uow.lock_for_trade(player_name, quote.mbid)
            act = trading.buy if side is Side.BUY else trading.sell
            outcome = act(player, artist, quote, now)
            uow.trades.add(outcome.trade)
            uow.ledger.add(outcome.ledger)
            new_trophies = award_trophies(uow, player, now, [artist])
            receipt = TradeReceipt(
                artist.mbid, side.value, quote.price, player.money, now, new_trophies
            )
            uow.commit()
        return receipt
