"""Buy and sell: the rules that span a Player and an Artist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from datm.domain import pricing
from datm.domain.artist import Artist
from datm.domain.errors import (
    AlreadyHeld,
    NoneRemaining,
    NotEnoughMoney,
    NotHeld,
    QuoteInvalid,
)
from datm.domain.player import Holding, LedgerEntry, LedgerKind, Player
from datm.domain.quotes import Quote, Side


@dataclass(frozen=True, slots=True)
class Trade:
    """One executed trade; ``player`` is None once the player deleted the account."""

    player: str | None
    mbid: str
    side: Side
    price: int
    at: datetime
    quote_id: str = ""


@dataclass(frozen=True, slots=True)
class TradeOutcome:
    trade: Trade
    ledger: LedgerEntry


def _check_quote(player: Player, artist: Artist, quote: Quote, side: Side) -> None:
    if quote.side is not side:
        raise QuoteInvalid(f"this guarantee is for a {quote.side.value}, not a {side.value}")
    if quote.player != player.name:
        raise QuoteInvalid("this guarantee was given to another player")
    if quote.mbid != artist.mbid:
        raise QuoteInvalid("this guarantee is for another artist")


def buy(player: Player, artist: Artist, quote: Quote, now: datetime) -> TradeOutcome:
    """Buy one right at the quoted price; all checks before any change."""
    _check_quote(player, artist, quote, Side.BUY)
    if artist.mbid in player.holdings:
        raise AlreadyHeld(artist.mbid)
    if player.money < quote.price:
        raise NotEnoughMoney(needed=quote.price, available=player.money)
    remaining = artist.remaining
    if remaining <= 0:
        raise NoneRemaining(artist.mbid)
    entry = player.change_money(-quote.price, LedgerKind.BUY, now, artist.mbid)
    player.holdings[artist.mbid] = Holding(artist.mbid, quote.price, now)
    player.trades_made += 1
    artist.holders += 1
    artist.price = pricing.price_after_buy(
        artist.price, artist.last_close_price, remaining, artist.max_shares
    )
    return TradeOutcome(
        Trade(player.name, artist.mbid, Side.BUY, quote.price, now, quote.id), entry
    )


def sell(player: Player, artist: Artist, quote: Quote, now: datetime) -> TradeOutcome:
    """Sell the player's right at the quoted price."""
    _check_quote(player, artist, quote, Side.SELL)
    return _release(player, artist, quote.price, now, quote.id)


def release(player: Player, artist: Artist, now: datetime) -> TradeOutcome:
    """Sell at the current sell price, without a quote: reset and account deletion."""
    return _release(player, artist, artist.sell_price, now, "")


def _release(
    player: Player, artist: Artist, price: int, now: datetime, quote_id: str
) -> TradeOutcome:
    if artist.mbid not in player.holdings:
        raise NotHeld(artist.mbid)
    remaining = artist.remaining
    entry = player.change_money(price, LedgerKind.SELL, now, artist.mbid)
    del player.holdings[artist.mbid]
    player.trades_made += 1
    artist.holders -= 1
    artist.price = pricing.price_after_sell(
        artist.price, artist.last_close_price, remaining, artist.max_shares
    )
    return TradeOutcome(Trade(player.name, artist.mbid, Side.SELL, price, now, quote_id), entry)


def quote_price(player: Player, artist: Artist, side: Side) -> int:
    """The price a quote guarantees; refuses a quote that could not be executed now."""
    if side is Side.BUY:
        if artist.mbid in player.holdings:
            raise AlreadyHeld(artist.mbid)
        if artist.remaining <= 0:
            raise NoneRemaining(artist.mbid)
        return artist.price
    if artist.mbid not in player.holdings:
        raise NotHeld(artist.mbid)
    return artist.sell_price
