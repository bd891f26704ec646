"""The public trading services against a small model of the game.

A hypothesis state machine quotes, buys, sells, resets and closes the market for
a few players and four artists, with the clock moved by hand, and compares every
answer and every refusal with a model that knows who holds what, each player's
money and points, and each artist's price and shares. After every step the
invariants check the books: money = 20,000 + ledger and never negative, shares
never oversold, no artist held twice, prices at least 1.

Rules take no fixtures, so the backend is a class attribute: one subclass per
backend. Each example plays a new game; on Postgres the session's database is
emptied for it (``backends``) and the engine disposed when the example ends.
Postgres runs fewer examples (DATM_STATEFUL_PG_EXAMPLES, 30 by default) than
memory (DATM_STATEFUL_EXAMPLES, 200): each of its steps is a few round trips.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import backends
import postgres_support
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from injector import Injector

from datm.adapters.clock import ManualClock
from datm.domain import close as close_rules
from datm.domain import pricing
from datm.domain.errors import (
    AlreadyHeld,
    DatmError,
    NoneRemaining,
    NotAuthenticated,
    NotEnoughMoney,
    NotHeld,
    QuoteExpired,
    QuoteInvalid,
)
from datm.ports.lastfm import LastfmPort
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.market import MarketService
from datm.services.players import PlayerService
from datm.services.results import SignedQuote
from datm.services.trading import TradingService

pytestmark = pytest.mark.slow

STARTING_MONEY = 20_000  # game-rules.md, Players
QUOTE_VALIDITY = timedelta(seconds=15)  # game-rules.md, Prices, quotes and trades
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TRADERS = ("ana", "ben", "cyd")
# Idle players only count: with 11 players the chart's top artist lists with two
# shares (ceil(0.1 * 11) = 2), while smaller artists list with one.
IDLE = tuple(f"idle-{n}" for n in range(8))
SINGLES = 3  # artists with one share, the cheapest of the chart

E = TypeVar("E", bound=DatmError)


def build_injector(backend: str, clock: ManualClock) -> Injector:
    """A fresh game on ``backend`` (``backends``: memory, or an emptied Postgres database)."""
    return backends.build_injector(backend, clock)


def log_in(injector: Injector, name: str) -> str:
    """Log ``name`` in the way a browser does; the datm session key."""
    auth = injector.get(AuthService)
    link = auth.login_link()
    assert link.token is not None
    injector.get(LastfmPort).authorise(link.token, name)  # type: ignore[attr-defined]
    return auth.login(link.token).session_key


def expect(error: type[E], call: Callable[[], object]) -> E:
    """``call`` must raise exactly ``error`` (not a sibling or a subclass)."""
    with pytest.raises(DatmError) as raised:
        call()
    assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"
    return raised.value  # type: ignore[return-value]


@dataclass
class ArtistModel:
    mbid: str
    price: int
    last_close_price: int
    max_shares: int
    last_listeners: int
    last_playcount: int
    points: int = 0  # of the latest close
    dividend: int = 0


@dataclass
class PlayerModel:
    name: str
    session: str
    money: int = STARTING_MONEY
    holdings: set[str] = field(default_factory=set)
    points_all_time: int = 0
    points_daily: int = 0
    trophies: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class QuoteModel:
    token: str
    player: str
    mbid: str
    side: str
    price: int
    expires_at: datetime


class TradingMachine(RuleBasedStateMachine):
    backend = "memory"
    quotes = Bundle("quotes")

    # --- set-up -------------------------------------------------------------

    @initialize()
    def start_game(self) -> None:
        self.clock = ManualClock(START)
        self.injector = build_injector(self.backend, self.clock)
        self.lastfm = self.injector.get(LastfmPort)
        self.trading = self.injector.get(TradingService)
        self.player_service = self.injector.get(PlayerService)
        self.market = self.injector.get(MarketService)
        self.closer = self.injector.get(CloseService)
        self.auditor = self.injector.get(AuditService)
        self.uow = self.injector.get(UnitOfWorkFactory)  # type: ignore[type-abstract]
        self.players: dict[str, PlayerModel] = {}
        for name in (*TRADERS, *IDLE):
            self.players[name] = PlayerModel(name, log_in(self.injector, name))
        self.used: set[str] = set()
        self.closes = 0
        self.artists = self._list_artists()

    def _list_artists(self) -> list[ArtistModel]:
        """The chart's top artist (several shares) and the cheapest single-share ones,
        listed through the market and checked against the listing rules."""
        chart = self.lastfm.chart_top_artists(50, 1)
        top = chart[0].listeners
        n = len(self.players)
        with_mbid = [a for a in chart if a.mbid]
        singles = sorted(
            (a for a in with_mbid if pricing.max_shares(n, a.listeners, top) == 1),
            key=lambda a: pricing.listing_price(a.listeners, a.playcount),
        )[:SINGLES]
        models = []
        for entry in [with_mbid[0], *singles]:
            data = self.market.market_data(entry.mbid)
            price = pricing.listing_price(entry.listeners, entry.playcount)
            shares = pricing.max_shares(n, entry.listeners, top)
            assert (data.buy_price, data.max_shares, data.remaining) == (price, shares, shares)
            models.append(
                ArtistModel(entry.mbid, price, price, shares, entry.listeners, entry.playcount)
            )
        assert models[0].max_shares >= 2, "the top artist should list with several shares"
        assert all(m.max_shares == 1 for m in models[1:])
        return models

    # --- model helpers ------------------------------------------------------

    def _artist(self, mbid: str) -> ArtistModel:
        return next(a for a in self.artists if a.mbid == mbid)

    def _holders(self, mbid: str) -> int:
        return sum(mbid in p.holdings for p in self.players.values())

    def _remaining(self, artist: ArtistModel) -> int:
        return artist.max_shares - self._holders(artist.mbid)

    def _refusal(self, quote: QuoteModel) -> type[DatmError] | None:
        """Why executing ``quote`` by its own player on its own side must fail, if it must."""
        if self.clock.now() >= quote.expires_at:
            return QuoteExpired
        if quote.token in self.used:
            return QuoteInvalid
        player = self.players[quote.player]
        artist = self._artist(quote.mbid)
        if quote.side == "buy":
            if quote.mbid in player.holdings:
                return AlreadyHeld
            if player.money < quote.price:
                return NotEnoughMoney
            if self._remaining(artist) <= 0:
                return NoneRemaining
            return None
        return None if quote.mbid in player.holdings else NotHeld

    def _apply_trade(self, quote: QuoteModel) -> None:
        player = self.players[quote.player]
        artist = self._artist(quote.mbid)
        remaining = self._remaining(artist)
        if quote.side == "buy":
            player.money -= quote.price
            player.holdings.add(quote.mbid)
            artist.price = pricing.price_after_buy(
                artist.price, artist.last_close_price, remaining, artist.max_shares
            )
        else:
            player.money += quote.price
            player.holdings.discard(quote.mbid)
            artist.price = pricing.price_after_sell(
                artist.price, artist.last_close_price, remaining, artist.max_shares
            )
        self.used.add(quote.token)

    def _quote(self, name: str, index: int, side: str) -> QuoteModel | None:
        """Ask for a quote; the model says whether it is refused, and why."""
        player = self.players[name]
        artist = self.artists[index]

        def call() -> SignedQuote:
            return self.trading.quote(player.session, artist.mbid, side)

        refusal: type[DatmError] | None = None
        if side == "buy" and artist.mbid in player.holdings:
            refusal = AlreadyHeld
        elif side == "buy" and self._remaining(artist) <= 0:
            refusal = NoneRemaining
        elif side == "sell" and artist.mbid not in player.holdings:
            refusal = NotHeld
        event(f"quote {side}: {refusal.__name__ if refusal else 'given'}")
        if refusal is not None:
            expect(refusal, call)
            return None
        signed = call()
        price = artist.price if side == "buy" else pricing.sell_price(artist.price)
        assert (signed.mbid, signed.side, signed.price) == (artist.mbid, side, price)
        assert signed.expires_at == self.clock.now() + QUOTE_VALIDITY
        return QuoteModel(signed.token, name, artist.mbid, side, price, signed.expires_at)

    def _execute(self, quote: QuoteModel) -> None:
        """Execute a quote as its player, on its side; done or refused as the model says."""
        player = self.players[quote.player]
        execute = self.trading.buy if quote.side == "buy" else self.trading.sell
        refusal = self._refusal(quote)
        event(f"execute {quote.side}: {refusal.__name__ if refusal else 'done'}")
        if refusal is not None:
            error = expect(refusal, lambda: execute(player.session, quote.token))
            if isinstance(error, NotEnoughMoney):
                assert (error.needed, error.available) == (quote.price, player.money)
            return
        first_trade = "first_trade" not in player.trophies
        receipt = execute(player.session, quote.token)
        self._apply_trade(quote)
        if first_trade:
            player.trophies.add("first_trade")
        assert (receipt.mbid, receipt.side, receipt.price) == (quote.mbid, quote.side, quote.price)
        assert receipt.money == player.money
        assert receipt.at == self.clock.now()
        assert receipt.new_trophies == (("first_trade",) if first_trade else ())

    # --- rules --------------------------------------------------------------

    @rule(target=quotes, name=st.sampled_from(TRADERS), index=st.integers(0, SINGLES))
    def buy(self, name: str, index: int) -> object:
        """Quote and buy at once; the quote is kept, to be reused later."""
        quote = self._quote(name, index, "buy")
        if quote is None:
            return multiple()
        self._execute(quote)
        return quote

    def _held_or_any(self, name: str, data: st.DataObject) -> int:
        """An artist the player holds if there is one, else any artist."""
        held = [i for i, a in enumerate(self.artists) if a.mbid in self.players[name].holdings]
        return data.draw(st.sampled_from(held) if held else st.integers(0, SINGLES))

    @rule(target=quotes, name=st.sampled_from(TRADERS), data=st.data())
    def sell(self, name: str, data: st.DataObject) -> object:
        """Quote and sell at once; the quote is kept, to be reused later."""
        quote = self._quote(name, self._held_or_any(name, data), "sell")
        if quote is None:
            return multiple()
        self._execute(quote)
        return quote

    @rule(
        first=st.sampled_from(TRADERS),
        second=st.sampled_from(TRADERS),
        side=st.sampled_from(["buy", "sell"]),
        data=st.data(),
    )
    def two_quotes_then_both_executed(
        self, first: str, second: str, side: str, data: st.DataObject
    ) -> None:
        """Two guarantees given before either is used: the second is stale when it
        comes (already held, not held, none remaining, not enough money)."""
        if side == "sell":
            index = self._held_or_any(first, data)
        else:
            index = data.draw(st.integers(0, SINGLES))
        quotes = [self._quote(first, index, side), self._quote(second, index, side)]
        for quote in quotes:
            if quote is not None:
                self._execute(quote)

    @rule(
        target=quotes,
        name=st.sampled_from(TRADERS),
        index=st.integers(0, SINGLES),
        side=st.sampled_from(["buy", "sell"]),
    )
    def keep_a_quote(self, name: str, index: int, side: str) -> object:
        """A quote to execute later: stale, expired, reused or fine."""
        quote = self._quote(name, index, side)
        return multiple() if quote is None else quote

    @rule(quote=quotes)
    def execute_a_kept_quote(self, quote: QuoteModel) -> None:
        self._execute(quote)

    @rule(
        quote=quotes,
        how=st.sampled_from(["wrong side", "other player", "tampered", "no session"]),
        offset=st.integers(1, len(TRADERS) - 1),
        position=st.integers(0, 200),
        bit=st.integers(0, 6),
    )
    def misuse_a_kept_quote(
        self, quote: QuoteModel, how: str, offset: int, position: int, bit: int
    ) -> None:
        """Every misuse is refused and changes nothing (the invariants check that)."""
        session = self.players[quote.player].session
        token = quote.token
        side = quote.side
        expected: type[DatmError] = QuoteInvalid
        if how == "wrong side":
            side = "sell" if side == "buy" else "buy"
        elif how == "other player":
            other = TRADERS[(TRADERS.index(quote.player) + offset) % len(TRADERS)]
            session = self.players[other].session
        elif how == "tampered":
            position %= len(token)
            flipped = chr(ord(token[position]) ^ (1 << bit))
            token = token[:position] + flipped + token[position + 1 :]
        else:
            session = "no-such-session-key"
            expected = NotAuthenticated
        expired = self.clock.now() >= quote.expires_at
        if expired and how in ("wrong side", "other player"):
            expected = QuoteExpired
        execute = self.trading.buy if side == "buy" else self.trading.sell
        event(f"misuse: {how}")
        expect(expected, lambda: execute(session, token))

    @rule(name=st.sampled_from(TRADERS))
    def reset(self, name: str) -> None:
        player = self.players[name]
        expected_sales = []
        for mbid in sorted(player.holdings):
            artist = self._artist(mbid)
            sale = pricing.sell_price(artist.price)
            remaining = self._remaining(artist)
            player.money += sale
            player.holdings.discard(mbid)
            artist.price = pricing.price_after_sell(
                artist.price, artist.last_close_price, remaining, artist.max_shares
            )
            expected_sales.append((mbid, "sell", sale, player.money))
        player.money = STARTING_MONEY
        player.points_all_time = player.points_daily = 0
        result = self.player_service.reset(player.session)
        assert [(s.mbid, s.side, s.price, s.money) for s in result.sold] == expected_sales
        assert (result.player, result.money) == (name, STARTING_MONEY)

    @rule(seconds=st.integers(1, 16))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    @rule()
    def close_the_next_day(self) -> None:
        self.clock.advance(timedelta(days=1))
        day = self.clock.today()
        top = self.lastfm.chart_top_artists(1, 1)[0].listeners
        dividends = points = 0
        for player in self.players.values():
            player.points_daily = 0
        for artist in self.artists:
            info = self.lastfm.artist_info(mbid=artist.mbid)
            delta_l = info.listeners - artist.last_listeners
            delta_s = info.playcount - artist.last_playcount
            artist.points = close_rules.close_points(delta_l, delta_s)
            artist.dividend = close_rules.close_dividend(delta_l, delta_s)
            artist.last_close_price = artist.price
            artist.last_listeners, artist.last_playcount = info.listeners, info.playcount
            holders = [p for p in self.players.values() if artist.mbid in p.holdings]
            artist.max_shares = max(
                len(holders), pricing.max_shares(len(self.players), info.listeners, top)
            )
            for player in holders:
                player.money += artist.dividend
                player.points_all_time += artist.points
                player.points_daily += artist.points
            dividends += artist.dividend * len(holders)
            points += artist.points * len(holders)
        event(f"close: {'dividends paid' if dividends else 'nothing paid'}")
        report = self.closer.run()
        self.closes += 1
        assert report.day == day
        assert (report.already_closed, report.finished, report.failed) == (False, True, ())
        assert (report.artists_closed, report.artists_skipped) == (len(self.artists), 0)
        assert (report.dividends_paid, report.points_awarded) == (dividends, points)

    @precondition(lambda self: self.closes > 0)
    @rule()
    def close_the_same_day_again(self) -> None:
        report = self.closer.run()
        assert report.already_closed
        assert (report.artists_closed, report.dividends_paid, report.points_awarded) == (0, 0, 0)

    def teardown(self) -> None:
        if hasattr(self, "injector"):
            backends.close(self.injector)

    # --- invariants ---------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        report = self.auditor.audit()
        assert report.ok, report
        assert (report.players, report.artists) == (len(self.players), len(self.artists))
        with self.uow() as uow:
            stored = {p.name: p for p in uow.players.page(None, 100)}
            ledgers = {name: uow.ledger.total(name) for name in self.players}
        assert stored.keys() == self.players.keys()
        for name, player in self.players.items():
            assert stored[name].money == STARTING_MONEY + ledgers[name] == player.money >= 0
            assert stored[name].holdings.keys() == player.holdings

    @invariant()
    def traders_see_what_the_model_says(self) -> None:
        for player in (self.players[name] for name in TRADERS):
            money = self.player_service.money(player.session)
            assert money == player.money
            profile = self.player_service.profile(player.name, with_images=False)
            held = [h.market.mbid for h in profile.holdings]
            assert len(held) == len(set(held)), f"{player.name} holds an artist twice"
            assert set(held) == player.holdings
            assert all(h.market.held for h in profile.holdings)
            worth = money + sum(pricing.sell_price(self._artist(m).price) for m in held)
            assert profile.net_worth == worth
            assert profile.points.all_time == player.points_all_time
            assert profile.points.daily == player.points_daily
            assert {t.uid for t in profile.trophies} == player.trophies

    @invariant()
    def artists_match_the_model(self) -> None:
        for artist in self.artists:
            data = self.market.market_data(artist.mbid)
            holders = self._holders(artist.mbid)
            assert holders <= data.max_shares == artist.max_shares
            assert data.remaining == artist.max_shares - holders >= 0
            assert data.buy_price == artist.price >= 1
            assert data.sell_price == pricing.sell_price(artist.price)
            assert (data.points, data.dividend) == (artist.points, artist.dividend)


class MemoryTradingMachine(TradingMachine):
    backend = "memory"


MemoryTradingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("DATM_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTradingMachine = MemoryTradingMachine.TestCase


class PostgresTradingMachine(TradingMachine):
    backend = "postgres"


PostgresTradingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("DATM_STATEFUL_PG_EXAMPLES", "30")),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.postgres
class TestPostgresTradingMachine(PostgresTradingMachine.TestCase):
    def setUp(self) -> None:
        # Skip loudly (or fail under DATM_REQUIRE_POSTGRES=1) before hypothesis
        # starts, where the server cannot be reached: never inside an example.
        postgres_support.require_postgres()
        backends.POSTGRES.url()
