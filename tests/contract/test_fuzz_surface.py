"""Hypothesis fuzzing of the whole public surface, on every backend (issue 15, part 2).

Every public method of every service class in ``datm.wiring.modules.SERVICES`` is
found by introspection (``inspect``) and called with generated arguments: for each
parameter, a valid value of its kind (a logged-in player's session key, a listed
artist's MBID or a catalogue name, a league uid, a signed quote, a login token...),
a near miss built from one (a key cut short, an MBID with a NUL, 0 or 1001 as a
count, a day in the future...), or junk of any kind (empty, huge, negative, zero,
NaN, inf, non-numeric text, odd Unicode with lone surrogates and NUL, SQL-looking
text, lists, dicts, bytes, None, bools, floats, dates). Each parameter's kind comes
from its name (``KINDS``); a parameter no kind is known for fails the test, naming
it: it is never skipped. A call's arguments follow a drawn plan (``PLANS``): all
good (the method's own work runs), one spoilt and the rest good (every later check
is reached), or each good or spoilt at random. Session keys include one whose
player deleted the account. Except where the treatment says otherwise, one call in
three is made while the analytics hold the market lock (``MarketClosed`` paths).
About 480 examples per backend run in well under a minute for both; ``SCALE``
multiplies them for a longer hunt by hand.

For every call: only ``DatmError`` escapes (any other exception fails with the
method and its arguments); the market is open afterwards; and a call that raised
wrote nothing, nor did a read that succeeded (the snapshot compared: the audit's
report, ``AnalyticsService.counts``, every listed artist, and the money, holdings,
points and ledger of every player of the game). One allowance, for the methods
that list the artist they name on demand (``lists=True``: market_data, chart,
quote, ensure_listed): a refusal may leave that artist listed, unheld, and nothing
else (``only_listed``): a sell quote for an artist never listed is ``NotHeld``
after listing it. After each method's run a new player quotes and buys (no
connection left broken) and the audit is clean.

Treatments (``TREATMENTS``; a public method with no entry fails
``test_every_public_service_method_is_fuzzed_or_excluded_with_a_reason``):

- reads (``writes=False``): AuthService.api_key/check/login_link,
  SessionChecker.require, ArtistResolver.resolve, ArtistLister.mbid_of/listed,
  every ArtistService method (last.fm only), MarketService.history/top_by_price/
  top_by_gain/most_traded/recent_trades/recommendations, PlayerService.profile/
  money, every LeagueService read and ``rebuild``, AnalyticsService.counts/
  is_market_open/market_status, AuditService.audit, TradingService.receipt:
  nothing may change, even when they succeed. ``AnalyticsService.artists``
  returns an iterator: it is read to the end, inside the checked call.
- writers (``writes=True``; a success may write, a refusal must not):
  AuthService.login (authorised tokens from the offline last.fm among the junk:
  a success creates a player, a used token is ``TokenRefused``),
  ArtistLister.ensure_listed, MarketService.market_data/chart (list on demand),
  TradingService.quote/buy/sell (valid quotes made before the run; used ones are
  refused), PlayerService.reset/delete (the game's own players: a delete ends
  that player's sessions for the rest of the run), CloseService.run (a valid day
  closes it; the market lock is let go, checked by the market being open after
  every call; callbacks are no-ops or junk, never functions that raise, which
  stop a close by design).
- the market lock: AnalyticsService.acquire_market_lock is released after each
  success (the market is then checked open); hold_market_lock's context manager
  is entered (the market must be closed inside) and left;
  release_market_lock is called with the lock held or not, as drawn (not held:
  ``ProgrammingError``). These and CloseService.run are never called with the
  lock already held (``closable=False``): a close or a second acquire would
  wait out its timeout for a lock this very test holds.
- excluded, with reasons (``EXCLUDED``): SessionChecker.forget and
  SessionChecker.player_gone take the ``Session`` that ``require`` returned, a
  datm object no caller can make from input; they are the services' own plumbing.
"""

from __future__ import annotations

import inspect
import math
import reprlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from harness import Game
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datm.domain.errors import DatmError, InvalidInput
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.analytics import AnalyticsService
from datm.services.artist_resolution import ArtistLister
from datm.services.audit import AuditReport
from datm.services.results import ArtistSummary, Counts, LoginResult
from datm.wiring.modules import SERVICES

# --- the surface, by introspection ----------------------------------------------------


def public_methods() -> list[str]:
    """``Class.method`` for every public method of every service class."""
    found = []
    for service in SERVICES:
        for name, _ in inspect.getmembers(service, inspect.isroutine):
            if not name.startswith("_"):
                found.append(f"{service.__name__}.{name}")
    return sorted(found)


def service_class(method: str) -> type:
    owner = method.split(".")[0]
    return next(s for s in SERVICES if s.__name__ == owner)


def parameters(method: str) -> list[inspect.Parameter]:
    cls, name = service_class(method), method.split(".")[1]
    signature = inspect.signature(getattr(cls, name))
    return [p for p in signature.parameters.values() if p.name != "self"]


# --- the game every method is fuzzed in -------------------------------------------------


@dataclass
class World:
    """A game with players holding artists, valid quotes and login tokens: the valid
    values that get a call past its first check."""

    game: Game
    players: list[LoginResult]
    gone_key: str  # the session key of a player who deleted the account
    listed: list[str]  # listed artists' MBIDs
    names: list[str]  # catalogue artists' names (listed or not)
    unlisted: list[str]  # catalogue MBIDs not listed yet
    no_mbid: str  # a catalogue artist without an MBID
    spare: str  # an artist no value names: the trade after the run buys it
    buy_quotes: list[str]
    sell_quotes: list[str]
    login_tokens: list[str]  # authorised on the offline last.fm, not used yet
    unauthorised_token: str
    leagues: list[str]
    calls: int = 0
    raised: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.game.clock.today()


def build_world(game: Game) -> World:
    players = [game.login() for _ in range(4)]
    cheap = [a.mbid for a in game.cheapest(9)]  # one share each, with so few players
    for i, who in enumerate(players):
        game.buy(who, cheap[i])
    buy_quotes = [
        game.trading.quote(who.session_key, cheap[4 + i % 2], "buy").token
        for i, who in enumerate(players)
    ]
    sell_quotes = [
        game.trading.quote(who.session_key, cheap[i], "sell").token for i, who in enumerate(players)
    ]
    tokens = []
    for _ in range(3):
        link = game.auth.login_link()
        assert link.token is not None
        game.lastfm.authorise(link.token, f"fuzz-{secrets.token_hex(6)}")
        tokens.append(link.token)
    gone = game.login()
    game.players.delete(gone.session_key)  # a well-formed key whose player left
    unauthorised = game.auth.login_link().token
    assert unauthorised is not None
    chart = game.chart()
    return World(
        game=game,
        players=players,
        gone_key=gone.session_key,
        listed=cheap[:6],
        names=[a.name for a in chart[:6]],
        unlisted=cheap[6:8],
        no_mbid=game.without_mbid().name,
        spare=cheap[8],
        buy_quotes=buy_quotes,
        sell_quotes=sell_quotes,
        login_tokens=tokens,
        unauthorised_token=unauthorised,
        leagues=[league.uid for league in game.leagues.leagues()],
    )


# --- what a refused call must leave as it was -------------------------------------------


PlayerState = tuple[str, int, tuple[tuple[str, int], ...], int, int, int] | tuple[str, None]


@dataclass(frozen=True)
class Snapshot:
    audit: AuditReport
    counts: Counts
    artists: tuple[ArtistSummary, ...]
    players: tuple[PlayerState, ...]


def snapshot(world: World) -> Snapshot:
    game = world.game
    players: list[PlayerState] = []
    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        for who in world.players:
            player = uow.players.find(who.player)
            if player is None:
                players.append((who.player, None))
                continue
            holdings = tuple(sorted((m, h.price_paid) for m, h in player.holdings.items()))
            ledger = len(uow.ledger.for_player(who.player))
            players.append(
                (who.player, player.money, holdings, player.points_all_time, ledger,
                 player.trades_made)
            )  # fmt: skip
    return Snapshot(
        audit=game.audit.audit(),
        counts=game.analytics.counts(3660),
        artists=tuple(a for batch in game.analytics.artists(10_000) for a in batch),
        players=tuple(players),
    )


def only_listed(before: Snapshot, after: Snapshot) -> bool:
    """Whether ``after`` is ``before`` with new artists listed, nobody holding them,
    and nothing else changed: what a call that lists the artist it names on demand
    (``market_data``, ``quote``) may leave even when it goes on to refuse (a sell
    quote for an artist never listed is ``NotHeld`` once listed)."""
    kept = {a.mbid for a in before.artists}
    new = [a for a in after.artists if a.mbid not in kept]
    return (
        [a for a in after.artists if a.mbid in kept] == list(before.artists)
        and all(a.remaining == a.max_shares for a in new)
        and after.players == before.players
        and after.counts
        == replace(before.counts, listed_artists=before.counts.listed_artists + len(new))
        and after.audit == replace(before.audit, artists=before.audit.artists + len(new))
    )


# --- generated values -------------------------------------------------------------------


class _Omit:
    """The parameter is left out: its default is taken."""

    def __repr__(self) -> str:
        return "<omitted>"


OMIT = _Omit()

FIXED_JUNK: list[object] = [
    "", " ", "\t\n", "\x00", "a\x00b", "\ud800", "a\udfffb", "\ud83d", "x" * 5000,
    "é" * 3000, "1" * 400, "'; DROP TABLE players; --", "' OR '1'='1", "%s", "%(name)s",
    "{0}", "\\", "\\x00", "NaN", "nan", "inf", "-inf", "-1", "0", "1e999", "0x10", "\uff11\uff12",
    "\u202e", "\ufeff", "🎵", "null", "None", "true", "../../etc/passwd", "$(id)",
    0, -1, 1, -(2**63), 2**63, 2**1000, 0.0, -0.0, 1.5, math.nan, math.inf, -math.inf,
    True, False, None, b"", b"\x00", b"key", bytearray(b"x"), [], [1], ["a"], {}, {"a": 1},
    (), (1,), object(), Decimal("NaN"), Decimal("1"), complex(1, 1), date.min, date.max,
    datetime(2026, 11, 2, 9, tzinfo=UTC), timedelta(days=1),
]  # fmt: skip

ODD_CHARACTERS = st.one_of(
    st.characters(),
    st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates (any hypothesis >= 6.80)
    st.sampled_from(["\x00", "'", '"', ";", "%", "\\", "\u202e", "\ufeff", "\u0301"]),
)

JUNK: st.SearchStrategy[object] = st.one_of(
    st.sampled_from(FIXED_JUNK),
    st.text(ODD_CHARACTERS, max_size=40),
    st.integers(),
    st.floats(),
    st.binary(max_size=16),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.dates(),
)


def _text_near(values: list[str]) -> list[object]:
    """Almost a good text: spoilt in one way."""
    near: list[object] = []
    for value in values[:2]:
        near += [
            value + "\x00", "\ud800" + value, " " + value + " ", value.upper(),
            value * 200, value[:-1], [value], value.encode(),
        ]  # fmt: skip
    return near


def _counts_near(most: int) -> list[object]:
    return [0, -1, most + 1, 1001, 3661, 10_001, 10**9, 1.0, "10", True, False, None]


@dataclass(frozen=True)
class Kind:
    """Valid values of a parameter (they get a call past its first check) and
    near misses, both drawn from the world; junk is common to every kind."""

    valid: Callable[[World], list[object]]
    near: Callable[[World], list[object]] = lambda w: []


def _keys(w: World) -> list[object]:
    return [*(p.session_key for p in w.players), w.gone_key]


def _artists(w: World) -> list[object]:
    return [*w.listed, w.listed[0].upper(), *w.names, *w.unlisted, w.no_mbid,
            "no such artist zzq", "00000000-0000-0000-0000-000000000000"]  # fmt: skip


def _player_names(w: World) -> list[object]:
    return [*(p.player for p in w.players), "nobody-here", "名前"]


def _tampered(tokens: list[str]) -> list[object]:
    token = tokens[0]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    payload, _, signature = token.rpartition(".")
    return [flipped, token + ".", signature + "." + payload, token + "\x00", token[:20], "a.b"]


KINDS: dict[str, Kind] = {
    "session_key": Kind(
        _keys,
        lambda w: [
            w.players[0].session_key[:-1],
            w.players[0].session_key + "\ud800",
            w.players[0].session_key.upper(),
            " " + w.players[0].session_key,
            secrets.token_urlsafe(32),
            "x" * 257,
        ],
    ),
    "artist": Kind(_artists, lambda w: _text_near(w.listed)),
    "ref": Kind(_artists, lambda w: _text_near(w.listed)),
    "mbid": Kind(lambda w: [*w.listed, *w.unlisted], lambda w: _text_near(w.listed)),
    "player": Kind(_player_names, lambda w: _text_near([w.players[0].player])),
    "name": Kind(_player_names, lambda w: _text_near([w.players[0].player])),
    "user": Kind(_player_names, lambda w: _text_near([w.players[0].player])),
    "league": Kind(lambda w: [*w.leagues, "no-such-league"], lambda w: _text_near(w.leagues)),
    "side": Kind(lambda w: ["buy", "sell"], lambda w: ["BUY", " sell ", "hold", "b", "buy\x00"]),
    "signed_quote": Kind(
        lambda w: [*w.buy_quotes, *w.sell_quotes], lambda w: _tampered(w.buy_quotes)
    ),
    "token": Kind(
        lambda w: [*w.login_tokens, w.unauthorised_token], lambda w: _text_near(w.login_tokens)
    ),
    "callback": Kind(
        lambda w: ["https://example.org/back", "http://localhost:8000/cb?x=1"],
        lambda w: [*_text_near(["https://example.org/back"]), "javascript:alert(1)"],
    ),
    "query": Kind(lambda w: ["nirv", "the", "zzqx"], lambda w: _text_near(["nirv"])),
    "country": Kind(
        lambda w: ["united kingdom", "germany", "atlantis"], lambda w: _text_near(["germany"])
    ),
    "tag": Kind(lambda w: ["rock", "jazz", "no-such-tag"], lambda w: _text_near(["rock"])),
    "limit": Kind(lambda w: [1, 2, 10, 50, 1000], lambda w: _counts_near(1000)),
    "page": Kind(lambda w: [1, 2, 7], lambda w: _counts_near(1000)),
    "batch_size": Kind(lambda w: [1, 3, 200, 10_000], lambda w: _counts_near(10_000)),
    "days": Kind(lambda w: [0, 1, 7, 30, 365, 3660], lambda w: _counts_near(3660)),
    "with_images": Kind(lambda w: [True, False], lambda w: [1, 0, "yes", None]),
    "timeout": Kind(
        lambda w: [None, 0, 0.05, 1, 2.5],
        lambda w: [-0.001, 3600.5, math.nan, math.inf, "1", True, [1]],
    ),
    "day": Kind(
        lambda w: [None, w.today, w.today - timedelta(days=1), w.today - timedelta(days=3)],
        lambda w: [
            w.today + timedelta(days=1),
            date.min,
            date(1970, 1, 1),
            date.max,
            datetime.combine(w.today, datetime.min.time()),
            w.today.isoformat(),
            0,
            "",
            False,
            0.0,
            w.today.toordinal(),
        ],
    ),
    "progress": Kind(lambda w: [None, lambda done, total: None], lambda w: [0, "print", False]),
    "on_step": Kind(lambda w: [None, lambda step: None], lambda w: [0, "log", False]),
}


@dataclass(frozen=True)
class Values:
    """A parameter's values: good ones, and spoilt ones (near misses and junk)."""

    good: st.SearchStrategy[Any]
    bad: st.SearchStrategy[Any]

    @property
    def either(self) -> st.SearchStrategy[Any]:
        return st.one_of(self.good, self.bad)


def values_for(world: World, method: str, parameter: inspect.Parameter) -> Values:
    kind = KINDS.get(parameter.name)
    if kind is None or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
        raise AssertionError(
            f"{method}: no values can be generated for parameter {parameter.name!r}; "
            "add its kind to KINDS in tests/contract/test_fuzz_surface.py"
        )
    valid = kind.valid(world) + ([OMIT] if parameter.default is not parameter.empty else [])
    near = kind.near(world)
    bad = st.one_of(st.sampled_from(near), JUNK) if near else JUNK
    return Values(st.sampled_from(valid), bad)


CLOSED = st.sampled_from([False, False, True])  # the market lock held for one call in 3

# How a call's arguments are drawn: all good (the call's own work runs), one spoilt
# and the rest good (each later check is reached), or each good or spoilt at random.
PLANS = ("all good", "one spoilt", "any")


def draw_arguments(data: st.DataObject, values: dict[str, Values]) -> dict[str, object]:
    plan = data.draw(st.sampled_from(PLANS), label="plan") if values else "all good"
    spoilt = (
        data.draw(st.sampled_from(sorted(values)), label="spoilt") if plan == "one spoilt" else ""
    )
    drawn = {}
    for name, value in values.items():
        good_or_bad = value.bad if name == spoilt else value.good
        chosen = value.either if plan == "any" else good_or_bad
        drawn[name] = data.draw(chosen, label=name)
    return {name: v for name, v in drawn.items() if v is not OMIT}


# --- treatments ---------------------------------------------------------------------------

Bound = Callable[..., object]


def plain(world: World, call: Bound, kwargs: dict[str, object], draw: st.DataObject) -> object:
    """Call it; an iterator is read to the end, inside the checked call."""
    result = call(**kwargs)
    if isinstance(result, Iterator):
        return list(result)
    return result


def acquire_then_release(
    world: World, call: Bound, kwargs: dict[str, object], draw: st.DataObject
) -> object:
    call(**kwargs)
    assert not world.game.analytics.is_market_open(), "acquired, yet the market is open"
    world.game.analytics.release_market_lock()
    return None


def hold_for_a_block(
    world: World, call: Bound, kwargs: dict[str, object], draw: st.DataObject
) -> object:
    held = call(**kwargs)
    assert isinstance(held, AbstractContextManager), held
    with held:
        assert not world.game.analytics.is_market_open(), "held, yet the market is open"
    return None


def release_held_or_not(
    world: World, call: Bound, kwargs: dict[str, object], draw: st.DataObject
) -> object:
    if draw.draw(st.booleans(), label="held before"):
        world.game.analytics.acquire_market_lock(1)
    return call(**kwargs)


Runner = Callable[[World, Bound, dict[str, object], st.DataObject], object]


@dataclass(frozen=True)
class Fuzz:
    examples: int
    writes: bool  # a success may write (a refusal never may)
    run: Runner = plain
    lists: bool = False  # lists a named artist on demand, as market_data does, first
    closable: bool = True  # also called with the market lock held (by the analytics)


# Multiplies every method's examples: raise it by hand for a longer hunt (15 runs
# about 15 s on memory and 2 minutes on Postgres, and found nothing more).
SCALE = 1
READ, WRITE = Fuzz(10, writes=False), Fuzz(12, writes=True)

TREATMENTS: dict[str, Fuzz] = {
    "SessionChecker.require": READ,
    "ArtistResolver.resolve": READ,
    "ArtistLister.ensure_listed": Fuzz(12, writes=True, lists=True),
    "ArtistLister.listed": READ,
    "ArtistLister.mbid_of": READ,
    "AuthService.api_key": Fuzz(2, writes=False),
    "AuthService.check": READ,
    "AuthService.login": Fuzz(15, writes=True),
    "AuthService.login_link": READ,
    "ArtistService.basic": READ,
    "ArtistService.chart": READ,
    "ArtistService.country_chart": READ,
    "ArtistService.lastfm_data": READ,
    "ArtistService.light": READ,
    "ArtistService.search": READ,
    "ArtistService.similar": READ,
    "ArtistService.tag_chart": READ,
    "ArtistService.user_profile": READ,
    "MarketService.chart": Fuzz(12, writes=True, lists=True),
    "MarketService.history": READ,
    "MarketService.market_data": Fuzz(15, writes=True, lists=True),
    "MarketService.most_traded": READ,
    "MarketService.recent_trades": READ,
    "MarketService.recommendations": READ,
    "MarketService.top_by_gain": READ,
    "MarketService.top_by_price": READ,
    "TradingService.quote": Fuzz(20, writes=True, lists=True),
    "TradingService.buy": Fuzz(20, writes=True),
    "TradingService.sell": Fuzz(20, writes=True),
    "TradingService.receipt": READ,
    "PlayerService.profile": READ,
    "PlayerService.money": READ,
    "PlayerService.reset": WRITE,
    "PlayerService.delete": WRITE,
    "LeagueService.leagues": Fuzz(2, writes=False),
    "LeagueService.top": Fuzz(15, writes=False),
    "LeagueService.near": READ,
    "LeagueService.position": READ,
    "LeagueService.rebuild": Fuzz(2, writes=False),
    "CloseService.run": Fuzz(10, writes=True, closable=False),
    "AnalyticsService.acquire_market_lock": Fuzz(
        10, writes=False, run=acquire_then_release, closable=False
    ),
    "AnalyticsService.artists": READ,
    "AnalyticsService.counts": READ,
    "AnalyticsService.hold_market_lock": Fuzz(
        10, writes=False, run=hold_for_a_block, closable=False
    ),
    "AnalyticsService.is_market_open": Fuzz(2, writes=False),
    "AnalyticsService.market_status": Fuzz(2, writes=False),
    "AnalyticsService.release_market_lock": Fuzz(
        6, writes=False, run=release_held_or_not, closable=False
    ),
    "AuditService.audit": Fuzz(2, writes=False),
}

EXCLUDED: dict[str, str] = {
    "SessionChecker.forget": (
        "takes the Session that SessionChecker.require returned, a datm object no caller "
        "can build from input: the services' own plumbing after a key was checked"
    ),
    "SessionChecker.player_gone": (
        "a context manager around the services' own work for the Session that "
        "SessionChecker.require returned; no caller input reaches it"
    ),
}

FUZZED = [m for m in public_methods() if m not in EXCLUDED]


def test_every_public_service_method_is_fuzzed_or_excluded_with_a_reason() -> None:
    found = set(public_methods())
    untreated = sorted(found - set(TREATMENTS) - set(EXCLUDED))
    assert not untreated, f"public service methods neither fuzzed nor excluded: {untreated}"
    stale = sorted((set(TREATMENTS) | set(EXCLUDED)) - found)
    assert not stale, f"treatments for methods that no longer exist: {stale}"
    both = sorted(set(TREATMENTS) & set(EXCLUDED))
    assert not both, f"both fuzzed and excluded: {both}"
    unexplained = [m for m, reason in EXCLUDED.items() if len(reason.split()) < 5]
    assert not unexplained, f"exclusions without a written reason: {unexplained}"


def test_every_fuzzed_parameter_has_values() -> None:
    missing = [
        f"{method}({p.name})"
        for method in FUZZED
        for p in parameters(method)
        if p.name not in KINDS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not missing, f"no values can be generated for: {missing}; add them to KINDS"


# --- the fuzzing --------------------------------------------------------------------------


def _shown(kwargs: dict[str, object]) -> str:
    short = reprlib.Repr()
    short.maxstring = short.maxother = 80
    return ", ".join(f"{k}={short.repr(v)}" for k, v in kwargs.items())


@pytest.mark.parametrize("method", FUZZED)
def test_only_datm_errors_escape_and_a_refusal_writes_nothing(game: Game, method: str) -> None:
    treatment = TREATMENTS.get(method)
    assert treatment is not None, f"{method} is neither fuzzed nor excluded (TREATMENTS)"
    world = build_world(game)
    cls, name = service_class(method), method.split(".")[1]
    values = {p.name: values_for(world, method, p) for p in parameters(method)}

    @settings(
        max_examples=treatment.examples * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        kwargs = draw_arguments(data, values)
        call = f"{method}({_shown(kwargs)})"
        before = snapshot(world)
        bound = getattr(game.get(cls), name)
        closed = treatment.closable and data.draw(CLOSED, label="market closed")
        if closed:
            game.analytics.acquire_market_lock(1)
            call += " with the market closed"
        refused: DatmError | None = None
        try:
            treatment.run(world, bound, kwargs, data)
        except DatmError as error:
            refused = error
        except Exception as error:
            raise AssertionError(f"{call} raised {type(error).__name__}: {error!r}") from error
        finally:
            if closed:
                game.analytics.release_market_lock()
        world.calls += 1
        if refused is not None:
            world.raised[type(refused).__name__] = world.raised.get(type(refused).__name__, 0) + 1
        assert game.analytics.is_market_open(), f"{call} left the market closed"
        if refused is not None or not treatment.writes:
            after = snapshot(world)
            what = f"refused with {refused!r}" if refused is not None else "a read"
            same = after == before or (treatment.lists and only_listed(before, after))
            assert same, f"{call} ({what}) wrote:\n{before}\n{after}"

    fuzz()

    assert world.calls > 0
    # The game goes on: a new player quotes and buys; the books add up.
    who = game.login()
    game.buy(who, world.spare)
    assert game.audit.audit().ok


# --- the batches of listed artists: a bad size is refused at the call ---------------------


@pytest.mark.parametrize("size", [0, -1, 10_001, None, "200", 2.0, True])
def test_a_bad_batch_size_is_refused_at_the_call_not_at_the_first_batch(
    game: Game, size: object
) -> None:
    with pytest.raises(InvalidInput) as refused:
        game.get(AnalyticsService).artists(size)  # type: ignore[arg-type]
    assert refused.value.fields["field"] == "batch_size"


def test_the_batches_of_listed_artists_are_read_lazily_by_size(game: Game) -> None:
    world = build_world(game)
    batches = game.analytics.artists(batch_size=3)
    game.market.market_data(world.unlisted[0])  # listed after the call, before the read
    read = [len(batch) for batch in batches]
    assert read == [3, 3, 1]


# --- defects the fuzzing found ----------------------------------------------------------


@pytest.mark.parametrize(
    "mbid",
    [bytearray(b"x"), ["a"], {}, None, 7, "", " ", "\x00", "a\x00b", "\ud800", "x" * 600],
    ids=["bytearray", "list", "dict", "none", "int", "empty", "blank", "nul", "nul-inside",
         "surrogate", "too-long"],
)  # fmt: skip
def test_listed_checks_its_mbid(game: Game, mbid: object) -> None:
    """``ArtistLister.listed`` took any value to the store: a bytearray raised
    ``TypeError`` (unhashable) on memory, a NUL psycopg2's ``ValueError`` on Postgres."""
    with pytest.raises(InvalidInput) as refused:
        game.get(ArtistLister).listed(mbid)  # type: ignore[arg-type]
    assert refused.value.fields["field"] == "mbid"
