"""The public services under real threads: last shares, one budget, one quote,
a mixed hammer and a close in the middle of trading.

Threads start together at a barrier and are joined with timeouts, so a bug
fails a test instead of hanging it. The clock is a manual one that stands still:
no quote expires by accident, and no assertion is about time. Every test ends by
checking the books (money = 20,000 + ledger, shares never oversold).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import backends
import pytest
from injector import Injector
from market_locks import HookedLock

from datm.adapters.clock import ManualClock
from datm.domain import pricing
from datm.domain.errors import (
    AlreadyHeld,
    Conflict,
    DatmError,
    MarketClosed,
    NoneRemaining,
    NotEnoughMoney,
    NotHeld,
    ProgrammingError,
    QuoteInvalid,
)
from datm.domain.player import LedgerKind
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.market import MarketService
from datm.services.players import PlayerService
from datm.services.results import CloseReport, MarketData, SignedQuote, TradeReceipt
from datm.services.trading import TradingService
from datm.settings import Settings

pytestmark = pytest.mark.slow

STARTING_MONEY = 20_000  # game-rules.md, Players
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
JOIN_TIMEOUT = 60.0
CLOSED_WAIT = 20.0  # how long a close holds the market for traders to run into it
WARM_UP = 25  # operations a trader makes before the close starts
# What a trade may be refused for when players compete; anything else is a bug.
REFUSALS = (AlreadyHeld, NotHeld, NotEnoughMoney, NoneRemaining, QuoteInvalid)


Execute = Callable[[str, str], TradeReceipt]


def build_injector(backend: str, clock: ManualClock) -> Injector:
    """A fresh game on ``backend`` (``backends``: memory, or an emptied Postgres
    database whose engine is disposed at the end of the test)."""
    return backends.build_injector(backend, clock)


@dataclass
class Game:
    injector: Injector
    clock: ManualClock
    sessions: dict[str, str]  # player -> session key

    def __post_init__(self) -> None:
        get = self.injector.get
        self.lastfm = get(LastfmPort)
        self.trading = get(TradingService)
        self.players = get(PlayerService)
        self.market = get(MarketService)
        self.closer = get(CloseService)
        self.auditor = get(AuditService)
        self.uow = get(UnitOfWorkFactory)  # type: ignore[type-abstract]

    def log_in(self, name: str) -> str:
        auth = self.injector.get(AuthService)
        link = auth.login_link()
        assert link.token is not None
        self.lastfm.authorise(link.token, name)  # type: ignore[attr-defined]
        self.sessions[name] = auth.login(link.token).session_key
        return self.sessions[name]

    def list_chart(self) -> list[MarketData]:
        """Every chart artist with an MBID, listed, cheapest first."""
        chart = [a.mbid for a in self.lastfm.chart_top_artists(50, 1) if a.mbid]
        return sorted((self.market.market_data(m) for m in chart), key=lambda d: d.price)

    def buy(self, name: str, mbid: str) -> TradeReceipt:
        quote = self.trading.quote(self.sessions[name], mbid, "buy")
        return self.trading.buy(self.sessions[name], quote.token)

    def sell(self, name: str, mbid: str) -> TradeReceipt:
        quote = self.trading.quote(self.sessions[name], mbid, "sell")
        return self.trading.sell(self.sessions[name], quote.token)

    def holdings(self, name: str) -> list[str]:
        profile = self.players.profile(name, with_images=False)
        return [h.market.mbid for h in profile.holdings]

    def check_books(self) -> None:
        """The audit, and per player: money = 20,000 + ledger >= 0, no artist held
        twice; per artist: holders counted from the players never exceed its shares."""
        report = self.auditor.audit()
        assert report.ok, report
        held: Counter[str] = Counter()
        for name in self.sessions:
            money = self.players.money(self.sessions[name])
            with self.uow() as uow:
                ledger = uow.ledger.total(name)
            assert money == STARTING_MONEY + ledger
            assert money >= 0
            mine = self.holdings(name)
            assert len(mine) == len(set(mine)), f"{name} holds an artist twice"
            held.update(mine)
        for mbid, holders in held.items():
            data = self.market.market_data(mbid)
            assert holders <= data.max_shares
            assert data.remaining == data.max_shares - holders >= 0
            assert data.buy_price >= 1


def new_game(backend: str, players: list[str]) -> Game:
    clock = ManualClock(START)
    game = Game(build_injector(backend, clock), clock, {})
    for name in players:
        game.log_in(name)
    return game


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:02d}" for n in range(count)]


def race(count: int, body: Callable[[int], object]) -> list[object]:
    """``body(i)`` in ``count`` threads released together; results or errors, by ``i``."""
    barrier = threading.Barrier(count, timeout=JOIN_TIMEOUT)
    outcomes: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = body(i)
        except Exception as error:  # collected, then asserted on by the test
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def kinds(outcomes: list[object]) -> Counter[str]:
    return Counter(type(o).__name__ for o in outcomes)


@pytest.fixture(autouse=True)
def switch_threads_often() -> Iterator[None]:
    """Let the interpreter switch threads every few microseconds, so that short
    transactions interleave instead of running whole under the GIL."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.fixture(params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- the last share ----------------------------------------------------------


def test_sixteen_players_racing_for_the_last_share_leave_one_holder(backend: str) -> None:
    players = names("racer", 16)
    game = new_game(backend, players)
    singles = [d for d in game.list_chart() if d.max_shares == 1]
    assert len(singles) >= 3, "the catalogue should list artists with a single share"
    for round_ in range(10):
        mbid = singles[round_ % 3].mbid
        before = {n: game.players.money(game.sessions[n]) for n in players}
        quotes = [game.trading.quote(game.sessions[n], mbid, "buy") for n in players]
        price = quotes[0].price
        assert all(q.price == price for q in quotes)
        assert all(money >= price for money in before.values()), "every racer can pay"

        def buy(i: int, quotes: list[SignedQuote] = quotes) -> TradeReceipt:
            return game.trading.buy(game.sessions[players[i]], quotes[i].token)

        outcomes = race(16, buy)

        assert kinds(outcomes) == {"TradeReceipt": 1, "NoneRemaining": 15}, kinds(outcomes)
        winner = next(players[i] for i, o in enumerate(outcomes) if isinstance(o, TradeReceipt))
        assert game.market.market_data(mbid).remaining == 0
        for name in players:
            paid = price if name == winner else 0
            assert game.players.money(game.sessions[name]) == before[name] - paid
            assert game.holdings(name) == ([mbid] if name == winner else [])
        game.check_books()
        game.sell(winner, mbid)
    game.check_books()


def test_concurrent_buyers_then_sellers_move_the_price_as_the_same_trades_in_a_row(
    backend: str,
) -> None:
    """Each trade moves the price from the artist as it stands when the trade
    commits (on Postgres the move is applied in SQL to the row at commit), so any
    order of concurrent trades ends where the same trades one by one would."""
    everyone = names("mover", 160)  # max shares grow with the number of players
    game = new_game(backend, everyone)
    affordable = [d for d in game.list_chart() if d.price <= STARTING_MONEY]
    widest = max(affordable, key=lambda d: d.max_shares)
    racers = min(16, widest.max_shares)
    assert racers >= 8, "the catalogue should list an affordable artist with 8+ shares"
    players, mbid = everyone[:racers], widest.mbid
    with game.uow() as uow:
        listed = uow.artists.get(mbid)
    price, lcp, shares = listed.price, listed.last_close_price, listed.max_shares
    remaining = shares - listed.holders
    buys = [game.trading.quote(game.sessions[n], mbid, "buy") for n in players]

    bought = race(racers, lambda i: game.trading.buy(game.sessions[players[i]], buys[i].token))

    assert kinds(bought) == {"TradeReceipt": racers}, kinds(bought)
    for _ in players:
        price = pricing.price_after_buy(price, lcp, remaining, shares)
        remaining -= 1
    assert (game.market.market_data(mbid).buy_price, remaining) == (price, shares - racers)
    sells = [game.trading.quote(game.sessions[n], mbid, "sell") for n in players]

    sold = race(racers, lambda i: game.trading.sell(game.sessions[players[i]], sells[i].token))

    assert kinds(sold) == {"TradeReceipt": racers}, kinds(sold)
    for _ in players:
        price = pricing.price_after_sell(price, lcp, remaining, shares)
        remaining += 1
    data = game.market.market_data(mbid)
    assert (data.buy_price, data.remaining) == (price, shares)
    game.check_books()


# --- one budget, many threads -------------------------------------------------


def test_one_player_buying_in_sixteen_threads_never_spends_more_than_it_has(
    backend: str,
) -> None:
    game = new_game(backend, ["spender"])
    session = game.sessions["spender"]
    artists = [d for d in game.list_chart() if d.price <= STARTING_MONEY][:16]
    assert len(artists) == 16
    for _ in range(5):
        assert game.players.money(session) == STARTING_MONEY
        quotes = [game.trading.quote(session, a.mbid, "buy") for a in artists]
        prices = sorted(q.price for q in quotes)
        most = max(k for k in range(len(prices) + 1) if sum(prices[:k]) <= STARTING_MONEY)
        assert most >= 2, "the budget should fit more than one of these artists"

        def buy(i: int, quotes: list[SignedQuote] = quotes) -> TradeReceipt:
            return game.trading.buy(session, quotes[i].token)

        outcomes = race(16, buy)

        bought = [quotes[i] for i, o in enumerate(outcomes) if isinstance(o, TradeReceipt)]
        refused = [(quotes[i], o) for i, o in enumerate(outcomes) if isinstance(o, Exception)]
        assert 1 <= len(bought) <= most
        spent = sum(q.price for q in bought)
        money = game.players.money(session)
        assert spent <= STARTING_MONEY
        assert money == STARTING_MONEY - spent >= 0
        for quote, error in refused:
            assert isinstance(error, NotEnoughMoney), repr(error)
            assert error.needed == quote.price > error.available >= money
            assert quote.price > money  # nothing was refused that still fits
        assert sorted(game.holdings("spender")) == sorted(q.mbid for q in bought)
        receipts = sorted(o.money for o in outcomes if isinstance(o, TradeReceipt))
        assert receipts[0] == money  # the last buy left what is left
        game.check_books()
        game.players.reset(session)
    game.check_books()


# --- one quote, many threads --------------------------------------------------


def test_one_quote_executed_by_eight_threads_trades_once(backend: str) -> None:
    game = new_game(backend, ["holder"])
    session = game.sessions["holder"]
    mbid = game.list_chart()[0].mbid
    for round_ in range(20):
        side = "buy" if round_ % 2 == 0 else "sell"
        quote = game.trading.quote(session, mbid, side)
        execute = game.trading.buy if side == "buy" else game.trading.sell
        money = game.players.money(session)

        def run(_: int, execute: Execute = execute, token: str = quote.token) -> TradeReceipt:
            return execute(session, token)

        outcomes = race(8, run)

        assert kinds(outcomes) == {"TradeReceipt": 1, "QuoteInvalid": 7}, kinds(outcomes)
        change = -quote.price if side == "buy" else quote.price
        assert game.players.money(session) == money + change
        assert game.holdings("holder") == ([mbid] if side == "buy" else [])
        with game.uow() as uow:
            entries = uow.ledger.for_player("holder")
        assert len(entries) == round_ + 1  # one ledger entry per trade: nothing paid twice
        game.check_books()


# --- the hammer ----------------------------------------------------------------


def hammer(
    game: Game,
    traders: list[str],
    artists: list[str],
    seed: int,
    keep_going: Callable[[int], bool],
    on_error: Callable[[BaseException], None] = lambda _: None,
) -> tuple[int, list[BaseException]]:
    """Random quotes, buys, sells, resets and stale quotes until ``keep_going(n)``
    is false; how many operations raised nothing, and every error raised."""
    rng = random.Random(seed)
    errors: list[BaseException] = []
    stale: list[tuple[str, str, str]] = []  # (player, side, token)
    succeeded = 0
    n = 0
    while keep_going(n):
        n += 1
        name = rng.choice(traders)
        session = game.sessions[name]
        mbid = rng.choice(artists)
        op = rng.choice(["buy", "buy", "sell", "sell", "reset", "stale"])
        try:
            if op == "reset":
                game.players.reset(session)
            elif op == "stale" and stale:
                who, side, token = stale.pop(rng.randrange(len(stale)))
                execute = game.trading.buy if side == "buy" else game.trading.sell
                execute(game.sessions[who], token)
            elif op in ("buy", "sell"):
                quote = game.trading.quote(session, mbid, op)
                stale.append((name, op, quote.token))
                if rng.random() < 0.7:
                    execute = game.trading.buy if op == "buy" else game.trading.sell
                    execute(session, quote.token)
            succeeded += 1
        except Exception as error:  # collected, then asserted on by the test
            errors.append(error)
            on_error(error)
    return succeeded, errors


def assert_only(errors: list[BaseException], allowed: tuple[type[DatmError], ...]) -> None:
    assert all(isinstance(e, DatmError) for e in errors), [
        e for e in errors if not isinstance(e, DatmError)
    ]
    assert not [e for e in errors if isinstance(e, ProgrammingError | Conflict)]
    assert all(isinstance(e, allowed) for e in errors), Counter(type(e).__name__ for e in errors)


def test_eight_threads_hammering_six_players_keep_the_books(backend: str) -> None:
    traders = names("trader", 6)
    # Fourteen more players make a popular artist list with two shares.
    game = new_game(backend, [*traders, *names("idle", 14)])
    listed = game.list_chart()
    wide = [d.mbid for d in listed if d.max_shares >= 2][:2]
    single = [d.mbid for d in listed if d.max_shares == 1][:1]
    artists = [*wide, *single]
    assert len(artists) == 3

    outcomes = race(8, lambda i: hammer(game, traders, artists, 100 + i, lambda n: n < 200))

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    errors = [e for o in outcomes for e in o[1]]  # type: ignore[index]
    assert_only(errors, REFUSALS)
    kinds_seen = Counter(type(e).__name__ for e in errors)
    assert kinds_seen["NoneRemaining"] > 0, kinds_seen  # the players did compete
    game.check_books()
    with game.uow() as uow:
        for name in traders:
            # Every trade moved money exactly once: trades and ledger agree.
            trades = uow.trades.count_for_player(name)
            entries = uow.ledger.for_player(name)
            assert trades == sum(e.kind in (LedgerKind.BUY, LedgerKind.SELL) for e in entries)


# --- a close while trading ---------------------------------------------------------


def test_a_close_during_trading_pays_the_holders_at_its_cut_off_once_each(backend: str) -> None:
    """Trading goes on through the close: refused (as MarketClosed only) while the
    cut-off holds the market lock, which here waits until a trader has run into it;
    the dividends go to exactly the holders at that instant, once each."""
    traders = names("trader", 6)
    game = new_game(backend, traders)
    listed = game.list_chart()
    artists = [d.mbid for d in listed[:6]]
    for name, mbid in zip(traders, artists, strict=True):
        game.buy(name, mbid)  # holders, so that the close pays dividends
    game.clock.advance(timedelta(days=1))
    day = game.clock.today()

    warmed_up = threading.Event()
    refused_closed = threading.Event()
    close_done = threading.Event()
    after_close = Counter[int]()
    during: dict[str, list[str]] = {}

    cut_off_at: list[float] = []
    reset_at: dict[str, list[float]] = {n: [] for n in traders}
    player_of = {session: name for name, session in game.sessions.items()}
    reset = game.players.reset

    def timed_reset(session: str) -> object:
        done = reset(session)
        reset_at[player_of[session]].append(time.monotonic())
        return done

    game.players.reset = timed_reset  # type: ignore[method-assign]

    def at_the_cut_off() -> None:
        # The market lock is held: holdings cannot move until the cut-off is fixed.
        cut_off_at.append(time.monotonic())
        during.update({n: sorted(game.holdings(n)) for n in traders})
        refused_closed.wait(CLOSED_WAIT)  # let the traders run into the closed market

    def on_error(error: BaseException) -> None:
        if isinstance(error, MarketClosed):
            refused_closed.set()

    def trader(i: int) -> tuple[int, list[BaseException]]:
        def keep_going(n: int) -> bool:
            if n >= WARM_UP:
                warmed_up.set()
            if close_done.is_set():
                after_close[i] += 1
            return n < 20_000 and after_close[i] < 50

        return hammer(game, traders, artists, 200 + i, keep_going, on_error)

    closing = CloseService(
        game.injector.get(CloseBook),  # type: ignore[type-abstract]
        game.injector.get(LastfmPort),  # type: ignore[type-abstract]
        HookedLock(game.injector.get(MarketLock), on_held=at_the_cut_off),  # type: ignore[type-abstract]
        game.clock,
        game.injector.get(Settings).replace(close_pay_batch=2),
        game.injector.get(Leaderboard),  # type: ignore[type-abstract]
    )

    def closer() -> object:
        try:
            warmed_up.wait(JOIN_TIMEOUT)  # some trading first
            return closing.run()
        finally:
            close_done.set()

    outcomes = race(7, lambda i: closer() if i == 6 else trader(i))

    report = outcomes[6]
    assert isinstance(report, CloseReport), repr(report)
    assert report.day == day and report.finished and not report.failed
    assert report.artists_closed == len(listed)
    assert refused_closed.is_set(), "no trade ran into the closed market"
    assert all(isinstance(o, tuple) for o in outcomes[:6]), outcomes
    errors = [e for o in outcomes[:6] for e in o[1]]  # type: ignore[index]
    assert_only(errors, (*REFUSALS, MarketClosed))
    assert any(isinstance(e, MarketClosed) for e in errors)
    game.check_books()
    game.players.reset(game.sessions[traders[0]])  # the market is open again

    # The dividends went to exactly the holders during the close, once each.
    dividend = {m: game.market.market_data(m).dividend for m in artists}
    expected = {(n, m) for n, held in during.items() for m in held if dividend[m]}
    paid: Counter[tuple[str, str]] = Counter()
    with game.uow() as uow:
        for name in traders:
            for entry in uow.ledger.for_player(name):
                if entry.kind is LedgerKind.DIVIDEND:
                    mbid, _, on = entry.reference.partition(":")
                    assert on == day.isoformat()
                    assert entry.amount == dividend[mbid]
                    paid[(name, mbid)] += 1
    # A holder of record who reset after the cut-off is paid nothing, or was paid
    # before the reset (which took it back): at most once. Everyone else once.
    # (A reset that returned after the cut-off may have committed just before it:
    # such a player is only held to "at most once".)
    reset_later = {n for n, times in reset_at.items() if any(t > cut_off_at[0] for t in times)}
    assert set(paid) <= expected
    assert all(count == 1 for count in paid.values())
    assert {(n, m) for n, m in expected if n not in reset_later} <= set(paid)
    assert report.dividends_paid == sum(dividend[m] for _, m in paid)


def test_two_closes_at_once_pay_each_dividend_once(backend: str) -> None:
    traders = names("holder", 3)
    game = new_game(backend, traders)
    listed = game.list_chart()
    artists = [d.mbid for d in listed[:3]]
    for name, mbid in zip(traders, artists, strict=True):
        game.buy(name, mbid)
    game.clock.advance(timedelta(days=1))
    money = {n: game.players.money(game.sessions[n]) for n in traders}

    reports = race(2, lambda _: game.closer.run())

    closed = [r for r in reports if isinstance(r, CloseReport)]
    assert len(closed) == 2, reports
    assert all(r.finished for r in closed)
    assert sum(r.artists_closed for r in closed) == len(listed)  # each artist once
    for name, mbid in zip(traders, artists, strict=True):
        dividend = game.market.market_data(mbid).dividend
        assert game.players.money(game.sessions[name]) == money[name] + dividend
    game.check_books()
